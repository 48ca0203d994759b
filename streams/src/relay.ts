import type { MikroORM } from "@mikro-orm/postgresql";
import type { Tracer } from "@opentelemetry/api";
import { Client, type ClientConfig } from "pg";
import type { Logger } from "pino";
import { createSlotWithCatchUp, dropSlot } from "./catch-up";
import { PublicationLog } from "./publication-log";
import type { OutboxEntry } from "./publisher";
import { defaultReplicaAcks, duplicateRedis, type Durability, type RedisClient } from "./redis-client";
import { ReplicationSession } from "./replication-session";
import { bigIntToLsn, lsnToBigInt, slotNameFor, slotState } from "./slot";
import { backoff, sleep } from "./timing";

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** The service's ORM: the relay publishes that database's outbox. */
  orm: MikroORM;
  /** Duplicated (without an offline queue) for the relay's own connection; the caller keeps ownership of this one. */
  redis: RedisClient;
  /**
   * Replicas every XADD must reach (`WAIT`) before its position is confirmed: an XADD a master
   * acknowledged and lost in a fail-over before replicating it is then published again, not lost.
   * Default 1 on a cluster, 0 (no WAIT) on one Redis.
   */
  replicaAcks?: number;
  /** How long to wait for those replicas before the batch counts as failed (and is published again). Default 1 s. */
  replicaAckTimeoutMs?: number;
  prefix: string;
  logger: Logger;
  /** Most events per XADD pipeline (whole transactions: one larger than this goes alone). Default 500. */
  batchSize?: number;
  /** Cap of the retry backoff while Redis or Postgres is down. Default 5 s. */
  maxBackoffMs?: number;
  /** How often a standby replica tries to take the slot over. Default 1 s. */
  standbyRetryMs?: number;
  /** How often what was published is written to `outbox_publication`, and the slot is moved past idle WAL. Default 1 s. */
  flushIntervalMs?: number;
  /** Traces each publish as a child of the event's `traceparent`; by default the process-wide tracer (a no-op unless registered). */
  tracer?: Tracer;
  /** Called once per SQL statement the relay sends on its own connections (they bypass the ORM). */
  onStatement?: () => void;
  /** Called after an XADD pipeline succeeded and before its position is confirmed; a throw fails the batch. */
  afterXadd?: (entries: readonly OutboxEntry[]) => void | Promise<void>;
}

/** Options of {@link OutboxRelay.stop}. */
export interface RelayStopOptions {
  /**
   * Publish every event committed so far before stopping, for at most this long (ms). Events left
   * (Redis down, a replica of another process holding the slot) stay in the slot for the next relay of
   * this database: nothing is lost, only later. Default: no flush.
   */
  flushTimeoutMs?: number;
}

/** Counters of {@link OutboxRelay.stats}. */
export interface RelayStats {
  published: number;
  batches: number;
  failures: number;
  /** Times this relay created the slot (first start of the database, or after the slot was lost). */
  slotsCreated: number;
  /** Rows published by those creations' catch-ups. */
  caughtUp: number;
  /** This relay streams from the slot (it is the database's leader). */
  leader: boolean;
}

/** How the relay's replication connection shows in `pg_stat_activity`. */
export const RELAY_APPLICATION_NAME = "outbox-relay";

/**
 * Publishes the outbox by logical decoding, confirming each transaction to the slot only after its rows
 * are XADDed: at least once, in commit order. One leader per database; the other replicas retry every
 * `standbyRetryMs` (streams/PROTOCOL.md, "Relay").
 */
export class OutboxRelay {
  private readonly slot: string;
  private readonly connection: ClientConfig;
  private readonly batchSize: number;
  private readonly maxBackoffMs: number;
  private readonly log = new PublicationLog();
  private readonly durability: Durability;
  private redis: RedisClient | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private session: ReplicationSession | null = null;
  private side: Client | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopSignal = new AbortController();
  private failuresInRow = 0;
  private slotNeedsDrop = false;
  private confirmed = 0n;
  private counters: RelayStats = { published: 0, batches: 0, failures: 0, slotsCreated: 0, caughtUp: 0, leader: false };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.durability = {
      replicaAcks: options.replicaAcks ?? defaultReplicaAcks(options.redis),
      replicaAckTimeoutMs: options.replicaAckTimeoutMs ?? 1_000,
    };
    const { host, port, user, password, database } = options.orm.em.getConnection().getConnectionOptions();
    this.connection = {
      host,
      port,
      user,
      password: password as string | undefined,
      database,
      keepAlive: true,
      application_name: RELAY_APPLICATION_NAME,
    };
    this.slot = slotNameFor(String(database));
  }

  /** The database's slot this relay streams from. */
  get slotName(): string {
    return this.slot;
  }

  /** Starts publishing in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopSignal = new AbortController();
    // No offline queue: while Redis is down an XADD fails at once and the session restarts after a backoff.
    this.redis = duplicateRedis(this.options.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.redis.on("error", () => undefined); // reported once per outage by the loop, not per reconnect attempt
    this.flushTimer = setInterval(() => void this.tick(), this.options.flushIntervalMs ?? 1_000);
    this.loop = this.run();
  }

  /** Stops streaming after the batch in flight; with `flushTimeoutMs`, first publishes what is committed. */
  async stop(options: RelayStopOptions = {}): Promise<void> {
    if (!this.running) return;
    if (options.flushTimeoutMs) await this.drain(Date.now() + options.flushTimeoutMs);
    // The batch in flight finishes and is confirmed (else the next relay publishes it again).
    const session = this.session;
    if (session) await Promise.race([session.settled(), sleep(5_000)]);
    this.running = false;
    this.stopSignal.abort();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.session?.end();
    await this.loop;
    await session?.settled(); // an XADD sent when the session ended still lands: list it
    await this.flushLog().catch((error) => this.options.logger.warn({ err: error }, "publication log not written at stop"));
    await this.side?.end().catch(() => undefined);
    this.side = null;
    this.redis?.disconnect();
    this.redis = null;
  }

  stats(): RelayStats {
    return { ...this.counters };
  }

  /** The position up to which this relay confirmed publication (`X/Y`), for tests and diagnostics. */
  confirmedLsn(): string {
    return bigIntToLsn(this.session?.confirmedLsn() ?? this.confirmed);
  }

  private async run(): Promise<void> {
    let standby = false;
    while (this.running) {
      try {
        if (this.slotNeedsDrop) {
          await dropSlot(this.connection, this.slot);
          this.slotNeedsDrop = false;
        }
        await this.stream();
        standby = false;
      } catch (error) {
        if (!this.running) break;
        const code = (error as { code?: string }).code;
        if (code === "55006") {
          // Another replica streams from the slot: stand by, quietly.
          if (!standby) this.options.logger.info({ slot: this.slot }, "outbox relay standing by: another replica publishes");
          standby = true;
          await sleep(this.options.standbyRetryMs ?? 1_000, this.stopSignal.signal);
          continue;
        }
        if (code === "42704" && /replication slot/i.test(String((error as Error).message))) {
          await this.createSlot().catch((e) => this.failed(e));
          continue;
        }
        if (code === "55000" && (await this.slotLost())) {
          this.options.logger.error({ slot: this.slot }, "outbox relay slot lost its WAL: recreating it and republishing unlisted rows");
          this.slotNeedsDrop = true;
          continue;
        }
        this.failed(error);
        await sleep(backoff(this.failuresInRow, 100, this.maxBackoffMs), this.stopSignal.signal);
      }
    }
  }

  /** One replication session: resolves or rejects when it ends. */
  private async stream(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    const session = new ReplicationSession({
      connection: this.connection,
      slot: this.slot,
      redis,
      prefix: this.options.prefix,
      batchSize: this.batchSize,
      durability: this.durability,
      tracer: this.options.tracer,
      onStart: () => {
        this.counters.leader = true;
        this.options.logger.debug({ slot: this.slot }, "outbox relay streaming");
      },
      onPublished: async (entries) => {
        await this.options.afterXadd?.(entries);
        this.log.record(
          entries.map((e) => e.id),
          new Date(),
        );
        this.counters.published += entries.length;
        this.counters.batches += 1;
        this.recovered();
      },
    });
    this.session = session;
    if (!this.running) session.end(); // stop() began meanwhile
    try {
      await session.run();
    } finally {
      this.counters.leader = false;
      this.confirmed = session.confirmedLsn() || this.confirmed;
      if (this.session === session) this.session = null;
    }
  }

  private idle(): boolean {
    return this.session?.idle() ?? true;
  }

  /** Every flush interval: write the publication log, and ask an idle server for its position. */
  private async tick(): Promise<void> {
    if (this.session?.idle()) this.session.ping();
    await this.flushLog().catch((error) => this.options.logger.warn({ err: error }, "publication log not written; retried at the next flush"));
  }

  private async flushLog(): Promise<void> {
    if (this.log.size === 0) return;
    const client = await this.sideConnection();
    try {
      this.options.onStatement?.();
      await this.log.flush(client);
    } catch (error) {
      if (this.side === client) this.side = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async sideConnection(): Promise<Client> {
    if (this.side) return this.side;
    const client = new Client({ ...this.connection, application_name: `${RELAY_APPLICATION_NAME}-log` });
    client.on("error", () => {
      if (this.side === client) this.side = null;
      client.end().catch(() => undefined);
    });
    await client.connect();
    this.side = client;
    return client;
  }

  private async createSlot(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    try {
      const result = await createSlotWithCatchUp({
        connection: this.connection,
        slot: this.slot,
        redis,
        prefix: this.options.prefix,
        durability: this.durability,
        log: this.log,
        tracer: this.options.tracer,
        batchSize: this.batchSize,
        onStatement: this.options.onStatement,
      });
      if (!result) return;
      this.counters.slotsCreated += 1;
      this.counters.caughtUp += result.republished;
      this.counters.published += result.republished;
      this.options.logger.info({ slot: this.slot, republished: result.republished }, "outbox relay created its replication slot");
      await this.flushLog().catch(() => undefined);
    } catch (error) {
      if ((error as { slotNeedsDrop?: boolean }).slotNeedsDrop) this.slotNeedsDrop = true;
      throw error;
    }
  }

  /** Whether the server invalidated the slot (it needed WAL past `max_slot_wal_keep_size`). */
  private async slotLost(): Promise<boolean> {
    try {
      const client = await this.sideConnection();
      return (await slotState(client, this.slot))?.walStatus === "lost";
    } catch {
      return false;
    }
  }

  /** Waits (bounded) until everything committed before the call is published. */
  private async drain(deadline: number): Promise<void> {
    try {
      const client = await this.sideConnection();
      const { rows } = await client.query<{ lsn: string }>("select pg_current_wal_insert_lsn()::text as lsn");
      const target = lsnToBigInt(rows[0]!.lsn);
      while (Date.now() < deadline) {
        const session = this.session;
        if (!session || !this.counters.leader) break;
        if (session.confirmedLsn() >= target && session.idle()) return;
        if (session.idle()) session.ping();
        await sleep(10);
      }
      if (this.counters.leader)
        this.options.logger.warn("outbox relay stopped before publishing every event; the next relay of this database publishes them");
    } catch (error) {
      this.options.logger.warn({ err: error }, "outbox flush at shutdown failed; the next relay of this database publishes the events");
    }
  }

  private failed(error: unknown): void {
    this.failuresInRow += 1;
    this.counters.failures += 1;
    if (this.failuresInRow === 1) {
      this.options.logger.error({ err: error }, "outbox relay cannot publish; events wait in the slot and are retried with backoff");
    }
  }

  private recovered(): void {
    if (this.failuresInRow > 0) {
      this.options.logger.info({ attempts: this.failuresInRow }, "outbox relay publishing again");
      this.failuresInRow = 0;
    }
  }
}
