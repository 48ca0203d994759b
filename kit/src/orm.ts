import { Migrator } from "@mikro-orm/migrations";
import { MikroORM, type Options } from "@mikro-orm/postgresql";
import { Client } from "pg";
import type { MigrationObject } from "@mikro-orm/core";
import type { Logger } from "pino";

export type Orm = MikroORM;

export interface OrmOptions {
  databaseUrl: string;
  entities: NonNullable<Options["entities"]>;
  /** Committed migrations, oldest first; they run on start. */
  migrations: MigrationObject[];
  logger: Logger;
  poolMax?: number;
  /** Called once per SQL statement; feeds the `db_queries_total` metric. */
  onQuery?: () => void;
  /**
   * `idle_in_transaction_session_timeout` of every pooled connection: a transaction left open by code
   * awaiting something that never comes (a hung handler, a forgotten commit) is ended by Postgres,
   * releasing its locks and its rows (an event's processed mark, which would otherwise keep every other
   * replica from taking the event over). Default 60 s; no legitimate transaction here idles that long.
   */
  idleInTransactionTimeoutMs?: number;
}

/**
 * Connects MikroORM to the service's own database and applies its committed
 * migrations (each in a transaction, all or nothing). A connection failure
 * stops start-up with the error: it is never logged and ignored. Replicas starting
 * together take turns (see {@link withMigrationLock}).
 */
export async function openDatabase({
  databaseUrl,
  entities,
  migrations,
  logger,
  poolMax = 10,
  onQuery,
  idleInTransactionTimeoutMs = 60_000,
}: OrmOptions): Promise<Orm> {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false, disableForeignKeys: false, silent: true },
    pool: {
      min: 1,
      max: poolMax,
      afterCreate: (
        connection: { query(sql: string, done: (error: Error | null) => void): void },
        done: (error: Error | null, connection: unknown) => void,
      ) =>
        connection.query(`set idle_in_transaction_session_timeout = ${Math.round(idleInTransactionTimeoutMs)}`, (error) => done(error, connection)),
    },
    // A forgotten fork must fail loudly instead of sharing one identity map across requests.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false },
  });
  if (onQuery) orm.em.getConnection().getKnex().on("query", onQuery);
  const applied = await withMigrationLock(orm, () => orm.getMigrator().up());
  if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, "applied migrations");
  return orm;
}

/**
 * Runs `work` (the migrator) while holding a session-level Postgres advisory lock of this database on a
 * dedicated connection: replicas starting together migrate one at a time (docs/KIT.md, "Migration lock").
 */
export async function withMigrationLock<T>(orm: Orm, work: () => Promise<T>): Promise<T> {
  // the same connection settings as the ORM's pool (host, role, password, database; TLS from PGSSLMODE)
  const { host, port, user, password, database } = orm.em.getConnection().getConnectionOptions();
  const client = new Client({ host, port, user, password: password as string | undefined, database });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock(hashtext('commerce:migrations'))");
    return await work();
  } finally {
    // ending the session releases the lock even if the unlock statement is never sent
    await client.end();
  }
}

/**
 * Runs `fn` once the transaction of `tx` (an EntityManager given by `em.transactional`, `runtime.commit`
 * or a handler's `ctx.em`) has committed, and never if it rolls back: for effects outside the database
 * that must match what was committed (metrics). Outside a transaction, `fn` runs at once.
 */
export function afterCommit(
  tx: { isInTransaction(): boolean; getEventManager(): { registerSubscriber(subscriber: object): void } },
  fn: () => void,
): void {
  if (!tx.isInTransaction()) return fn();
  // Each transaction's EntityManager has its own copy of the event manager: this subscriber lives and dies with it.
  tx.getEventManager().registerSubscriber({ afterTransactionCommit: () => fn() });
}

/**
 * Runs `fn` as the transaction of `tx` is about to commit; if it throws, the transaction rolls back
 * and the error reaches the caller. For effects outside the database that must be in place before the
 * commit is (a catalog revision). Outside a transaction, `fn` runs at once.
 */
export async function beforeCommit(
  tx: { isInTransaction(): boolean; getEventManager(): { registerSubscriber(subscriber: object): void } },
  fn: () => Promise<void>,
): Promise<void> {
  if (!tx.isInTransaction()) return fn();
  tx.getEventManager().registerSubscriber({ beforeTransactionCommit: () => fn() });
}
