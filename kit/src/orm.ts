import { Migrator } from "@mikro-orm/migrations";
import { MikroORM, type Options } from "@mikro-orm/postgresql";
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
}

/**
 * Connects MikroORM to the service's own database and applies its committed
 * migrations (each in a transaction, all or nothing). A connection failure
 * stops start-up with the error: it is never logged and ignored.
 */
export async function openDatabase({ databaseUrl, entities, migrations, logger, poolMax = 10, onQuery }: OrmOptions): Promise<Orm> {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false, disableForeignKeys: false, silent: true },
    pool: { min: 1, max: poolMax },
    // A forgotten fork must fail loudly instead of sharing one identity map across requests.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false },
  });
  if (onQuery) orm.em.getConnection().getKnex().on("query", onQuery);
  const applied = await orm.getMigrator().up();
  if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, "applied migrations");
  return orm;
}
