import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type Redis from 'ioredis';
import { Client, type ClientConfig, type QueryResult } from 'pg';
import type { Logger } from 'pino';
import { streamKey } from './keys';
import { notifierFor } from './notifier';
import { OUTBOX_CHANNEL } from './outbox';
import { backoff, sleep, Wakeup } from './timing';
import { contextFromTraceparent, defaultStreamsTracer } from './trace-context';

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** The service's ORM: the relay publishes that database's outbox. */
  orm: MikroORM;
  /** Duplicated (without an offline queue) for the relay's own connection; the caller keeps ownership of this one. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Rows per transaction / XADD pipeline. Default 500. */
  batchSize?: number;
  /** Poll when nothing woke the relay (a lost NOTIFY, a relay that was not the lock holder). Default 250 ms. */
  pollIntervalMs?: number;
  /** Cap of the retry backoff while Redis or Postgres is down. Default 5 s. */
  maxBackoffMs?: number;
  /** How long published outbox rows are kept (for audit and debugging). Default 24 h. */
  retentionMs?: number;
  /** How long `processed_event` rows are kept: must exceed the longest redelivery window. Default 7 days. */
  processedRetentionMs?: number;
  /** How often retention runs. Default 60 s. */
  purgeIntervalMs?: number;
  /** LISTEN for `NOTIFY outbox` from other processes. Default true. */
  listen?: boolean;
  /** Traces each publish as a child of the event's `traceparent`; by default the process-wide tracer (a no-op unless registered). */
  tracer?: Tracer;
  /** Called once per SQL statement the relay sends on its own connection (batches bypass the ORM). */
  onStatement?: () => void;
}

/** Options of {@link OutboxRelay.stop}. */
export interface RelayStopOptions {
  /**
   * Publish every row committed so far before stopping, for at most this long (ms). Rows left (Redis
   * down, an older transaction still open, the lock held by another replica) wait in the outbox for the
   * next relay of this database: nothing is lost, only later. Default: no flush.
   */
  flushTimeoutMs?: number;
}

/** Serialises relays per database: only the holder of this transaction-scoped advisory lock publishes. */
const RELAY_LOCK_KEY = 0x6f7574626f78; // "outbox"

/** How the relay's batch connection shows in `pg_stat_activity`. */
export const RELAY_APPLICATION_NAME = 'outbox-relay';

/** Longest wait before looking again at rows held back by the commit-order guard or by another replica's batch. */
const BLOCKED_RETRY_MAX_MS = 8;

/**
 * The commit-order guard of one row, evaluated in the statement that selects the rows (so against the
 * very snapshot that decided which rows are visible).
 *
 * Transaction ids and snapshots are cluster-wide: `pg_snapshot_xmin` is the oldest write transaction
 * open in *any* database of the server. Where services share a server (every process on one machine,
 * docker-compose, a small managed instance) that tied each relay to every other service's
 * transactions: a row waited for unrelated handlers and relays to commit. Only this database's
 * transactions can insert rows here, so:
 *
 * 1. fast path: older than every open transaction → eligible (the subquery is never evaluated);
 * 2. else: older than every open transaction of the snapshot *not known to belong to another
 *    database*. An xid that `pg_stat_activity` shows on a backend of another database is that
 *    database's (a backend never changes database), so ignoring it is safe whatever the timing; an xid
 *    that ended meanwhile, or a prepared transaction's, is not shown and still holds the row back.
 *    xid8 → xid: the low 32 bits (unique among running transactions).
 */
const ELIGIBLE_SQL = `(tx_id < pg_snapshot_xmin(pg_current_snapshot()) or tx_id < coalesce(
    (select min(x) from pg_snapshot_xip(pg_current_snapshot()) as x
      where not exists (select 1 from pg_stat_activity a
        where a.datname <> current_database() and a.backend_xid::text::bigint = x::text::bigint % 4294967296)),
    pg_snapshot_xmax(pg_current_snapshot())))`;

interface Row {
  id: string;
  event_id: string;
  type: string;
  stream: string;
  envelope: string;
  traceparent: string | null;
  eligible: boolean;
}

interface BatchResult {
  published: number;
  /** An older transaction was still open, so rows are waiting on the commit-order guard. */
  blocked: boolean;
  /** Another replica held the relay lock: its batch may have started before a commit we were woken for. */
  busy?: boolean;
}

/**
 * Moves committed outbox rows to Redis Streams, in id order, at least once.
 *
 * Each batch is one transaction: take the relay lock (or do nothing), select the eligible prefix of
 * unpublished rows, XADD them in one pipeline, mark them published, commit. A failure anywhere rolls the
 * marks back, so the rows are published again later: duplicates are possible (consumers deduplicate by
 * event id), losses and reorderings are not. See PROTOCOL.md "Relay".
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly retentionMs: number;
  private readonly processedRetentionMs: number;
  private readonly purgeIntervalMs: number;
  private readonly wakeup = new Wakeup();
  private redis: Redis | null = null;
  private listener: Client | null = null;
  private publisher: Client | null = null;
  private loop: Promise<void> | null = null;
  private running = false;
  private failures = 0;
  private lastPurge = 0;
  private unsubscribe: (() => void) | null = null;
  private counters = { published: 0, batches: 0, failures: 0, blocked: 0 };

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.retentionMs = options.retentionMs ?? 24 * 3600_000;
    this.processedRetentionMs = options.processedRetentionMs ?? 7 * 24 * 3600_000;
    this.purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
  }

  /** Starts publishing in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // No offline queue: while Redis is down a command fails at once instead of holding the batch's
    // transaction open; the loop's backoff does the waiting.
    this.redis = this.options.redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined); // reported once per outage by the loop, not per reconnect attempt
    this.unsubscribe = notifierFor(this.options.orm.config).subscribe(() => this.wake());
    if (this.options.listen !== false) void this.listen();
    this.loop = this.run();
  }

  /** Publishes now instead of at the next poll. */
  wake(): void {
    this.wakeup.wake();
  }

  /**
   * Stops after the batch in progress (which commits or rolls back whole) and releases connections;
   * with `flushTimeoutMs`, first publishes what is committed (see {@link RelayStopOptions}).
   */
  async stop(options: RelayStopOptions = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.wakeup.wake();
    await this.loop;
    if (options.flushTimeoutMs) await this.flush(Date.now() + options.flushTimeoutMs);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
    await this.publisher?.end().catch(() => undefined);
    this.publisher = null;
    this.redis?.disconnect();
    this.redis = null;
  }

  /**
   * Counters for metrics: rows published, batches, failed batches, and batches that found rows held back
   * by the commit-order guard (an older transaction still open).
   */
  stats(): { published: number; batches: number; failures: number; blocked: number } {
    return { ...this.counters };
  }

  /** Publishes batches until none is left or `deadline`; failures are logged, the rows stay for the next relay. */
  private async flush(deadline: number): Promise<void> {
    try {
      while (Date.now() < deadline) {
        const result = await this.publishBatch();
        if (result.published === 0 && !result.blocked) return;
        if (result.published === 0) await sleep(5); // an older transaction is still committing
      }
      this.options.logger.warn('outbox relay stopped before publishing every row; the next relay of this database publishes them');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'outbox flush at shutdown failed; the next relay of this database publishes the rows');
    }
  }

  private async run(): Promise<void> {
    let blockedDelay = 1;
    while (this.running) {
      this.wakeup.clear();
      let result: BatchResult;
      try {
        result = await this.publishBatch();
        this.recovered();
      } catch (error) {
        this.failed(error);
        // The whole backoff, even if commits wake us meanwhile: while Redis is down every commit of the
        // service would otherwise start another doomed batch (a select of up to batchSize rows each),
        // loading Postgres and this process when they are busiest.
        const until = Date.now() + backoff(this.failures, 100, this.maxBackoffMs);
        while (this.running && Date.now() < until) await this.wakeup.wait(until - Date.now());
        continue;
      }
      await this.purge();
      if (result.published === this.batchSize) continue;
      if (result.blocked || result.busy) {
        // Rows wait on an open transaction that may emit nothing (so no commit wakes us when it ends),
        // or another replica's batch may have missed the commit that woke us (commits wake only their
        // own process's relay). Both last milliseconds: look again soon; the cap keeps a long one cheap.
        blockedDelay = Math.min(blockedDelay * 2, BLOCKED_RETRY_MAX_MS, this.pollIntervalMs);
        await this.wakeup.wait(blockedDelay);
      } else {
        blockedDelay = 1;
        await this.wakeup.wait(this.pollIntervalMs);
      }
    }
  }

  /**
   * One batch on the relay's own connection, in two round trips: `begin; lock; select`, then
   * `update; commit` once the rows are in Redis. Plain `pg` simple queries, not the ORM: a batch is four
   * fixed statements, and an ORM transaction cost several times their CPU (streams/PROTOCOL.md "Relay").
   * Any error drops the connection, which rolls the transaction back.
   */
  private async publishBatch(): Promise<BatchResult> {
    const client = await this.publisherConnection();
    try {
      return await this.publishOn(client);
    } catch (error) {
      if (this.publisher === client) this.publisher = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async publishOn(client: Client): Promise<BatchResult> {
    // Three statements in one simple query, each with its own snapshot (READ COMMITTED, whatever the
    // database's default: under REPEATABLE READ the lock's statement would fix the snapshot). The
    // select must not be merged into the lock's statement: a statement's snapshot is taken when it
    // starts, so a merged one could get the lock just after the previous holder committed yet read the
    // rows it had published as still unpublished, and publish them again.
    //
    // Commit-order guard: a row is eligible once its transaction is older than every transaction still
    // open in this database (ELIGIBLE_SQL), and we take only the id-ordered prefix of eligible rows,
    // never skipping a visible row.
    const [, lock, selected] = (await this.query(
      client,
      3,
      `begin isolation level read committed;
       select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked;
       select id, event_id, type, stream, payload::text as envelope, payload->>'traceparent' as traceparent,
              ${ELIGIBLE_SQL} as eligible
       from outbox where published_at is null order by id limit ${this.batchSize}`,
    )) as unknown as [QueryResult, QueryResult<{ locked: boolean }>, QueryResult<Row>];
    if (!lock.rows[0]?.locked) {
      await this.query(client, 1, 'commit');
      return { published: 0, blocked: false, busy: true };
    }
    const ready: Row[] = [];
    for (const row of selected.rows) {
      if (!row.eligible) break;
      ready.push(row);
    }
    if (ready.length < selected.rows.length) this.counters.blocked += 1;
    if (ready.length === 0) {
      await this.query(client, 1, 'commit');
      return { published: 0, blocked: selected.rows.length > 0 };
    }
    await this.xadd(ready);
    // ids are bigints read from this table: digits only, safe to inline.
    await this.query(client, 2, `update outbox set published_at = now() where id = any('{${ready.map((row) => row.id).join(',')}}'::bigint[]); commit`);
    this.counters.published += ready.length;
    this.counters.batches += 1;
    return { published: ready.length, blocked: ready.length < selected.rows.length };
  }

  /** Sends `sql` (`statements` statements, counted for the service's metrics) as one simple query. */
  private query(client: Client, statements: number, sql: string): Promise<QueryResult | QueryResult[]> {
    for (let i = 0; i < statements; i += 1) this.options.onStatement?.();
    return client.query(sql) as Promise<QueryResult | QueryResult[]>;
  }

  /** The connection batches run on, opened on first use and after a failure dropped it. */
  private async publisherConnection(): Promise<Client> {
    if (this.publisher) return this.publisher;
    // A transaction left open (a batch stuck on Redis) is ended by the server, as on pooled connections.
    const client = this.newClient({
      idle_in_transaction_session_timeout: 60_000,
      application_name: RELAY_APPLICATION_NAME,
      keepAlive: true, // a connection lost without a word (a dead peer, a dropped NAT entry) is noticed, not waited on
    });
    // Closed by the server while idle (restart, failover, a proxy's idle limit): drop it now, so the next
    // batch opens a new one instead of failing first.
    client.on('error', () => {
      if (this.publisher === client) this.publisher = null;
      client.end().catch(() => undefined);
    });
    await client.connect();
    this.publisher = client;
    return client;
  }

  /** A dedicated connection to the ORM's database, outside its pool. */
  private newClient(extra: ClientConfig = {}): Client {
    const { host, port, user, password, database } = this.options.orm.em.getConnection().getConnectionOptions();
    return new Client({ host, port, user, password: password as string | undefined, database, ...extra });
  }

  private async xadd(rows: Row[]): Promise<void> {
    const redis = this.redis;
    if (!redis) throw new Error('outbox relay is stopped');
    // One producer span per event, in the trace of the request or handler that created it.
    const tracer = this.options.tracer ?? defaultStreamsTracer();
    const spans = rows.flatMap((row) =>
      row.traceparent
        ? [tracer.startSpan(`publish ${row.type}`, {
            kind: SpanKind.PRODUCER,
            attributes: {
              'messaging.system': 'redis',
              'messaging.operation.type': 'publish',
              'messaging.destination.name': streamKey(this.options.prefix, row.stream),
              'messaging.message.id': row.event_id,
              'messaging.batch.message_count': rows.length,
            },
          }, contextFromTraceparent(row.traceparent))]
        : [],
    );
    const pipeline = redis.pipeline();
    for (const row of rows) {
      pipeline.xadd(
        streamKey(this.options.prefix, row.stream),
        '*',
        'id',
        row.event_id,
        'type',
        row.type,
        'envelope',
        row.envelope,
      );
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      const failure = results.find(([error]) => error);
      if (failure || results.length !== rows.length) {
        throw failure?.[0] ?? new Error('XADD pipeline returned no results');
      }
    } catch (error) {
      for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  private failed(error: unknown): void {
    this.failures += 1;
    this.counters.failures += 1;
    if (this.failures === 1) {
      this.options.logger.error({ err: error }, 'outbox relay cannot publish; rows wait and are retried with backoff');
    }
  }

  private recovered(): void {
    if (this.failures > 0) {
      this.options.logger.info({ attempts: this.failures }, 'outbox relay publishing again');
      this.failures = 0;
    }
  }

  private async purge(): Promise<void> {
    if (Date.now() - this.lastPurge < this.purgeIntervalMs) return;
    this.lastPurge = Date.now();
    const em = this.options.orm.em.fork() as EntityManager;
    try {
      // Bounded deletes keep each statement short; whatever is left goes at the next interval.
      await em.execute(
        `delete from outbox where id in (select id from outbox
           where published_at < now() - ? * interval '1 millisecond' limit 10000)`,
        [this.retentionMs],
      );
      await em.execute(
        `delete from processed_event where ctid in (select ctid from processed_event
           where processed_at < now() - ? * interval '1 millisecond' limit 10000)`,
        [this.processedRetentionMs],
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, 'outbox retention failed; retried at the next interval');
    }
  }

  /** LISTEN on a dedicated connection (a pooled one would lose it); reconnects with backoff. */
  private async listen(attempt = 0): Promise<void> {
    if (!this.running) return;
    const client = this.newClient();
    client.on('notification', () => this.wake());
    client.on('error', (error) => {
      if (!this.running || this.listener !== client) return;
      this.options.logger.warn({ err: error }, 'outbox LISTEN connection lost; polling until it is back');
      this.listener = null;
      client.end().catch(() => undefined);
      setTimeout(() => void this.listen(1), backoff(attempt + 1, 200, this.maxBackoffMs));
    });
    try {
      this.listener = client;
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (!this.running) await client.end();
      this.wake(); // notifications sent while we were not listening are lost: look once
    } catch (error) {
      this.listener = null;
      await client.end().catch(() => undefined);
      if (!this.running) return;
      if (attempt === 0) this.options.logger.warn({ err: error }, 'outbox LISTEN failed; polling until it works');
      setTimeout(() => void this.listen(attempt + 1), backoff(attempt + 1, 200, this.maxBackoffMs));
    }
  }
}
