import { performance } from "node:perf_hooks";
import { SpanKind, type Tracer } from "@opentelemetry/api";
import { isEventType, parseEvent, type EventOf, type EventType, type ParsedEvent, type Producer } from "@commerce/schema";
import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { replayKey, streamKey } from "./keys";
import { AckBatcher } from "./ack-batcher";
import { writeDeadLetter } from "./dead-letters";
import { GroupCommit, processSpanAttributes } from "./group-commit";
import { commitWithEvents, type Emit } from "./outbox";
import { PendingRecovery, type Delivery } from "./recovery";
import { defaultReplicaAcks, groupBySlot, type RedisClient } from "./redis-client";
import { crashLooped, decideRetry } from "./retry-policy";
import { SerialLanes } from "./serial-lanes";
import { StreamReader } from "./stream-reader";
import { backoff, sleep, Wakeup } from "./timing";
import { contextFromTraceparent, defaultStreamsTracer, inSpan } from "./trace-context";
import { isTransientInfrastructureError } from "./transient";
import { fieldsOf, type RawEntry } from "./wire";

/** What a handler gets besides the event. */
export interface HandlerContext {
  /** The EntityManager of the message's transaction: changes made through it commit with the processed mark. */
  em: EntityManager;
  /** Queues an event in this service's outbox, in the same transaction. */
  emit: Emit;
  /** Carries `service`, `eventId`, `eventType` and `correlationId`. */
  logger: Logger;
}

/** Applies one event. Throwing rolls the transaction back and the event is retried. */
export type Handler<E extends ParsedEvent = ParsedEvent> = (event: E, ctx: HandlerContext) => Promise<void>;

/** One handler per event type the service reacts to; other types are acknowledged and skipped. */
export type Handlers = { [T in EventType]?: Handler<EventOf<T>> };

/** Options of {@link StreamConsumer}. */
export interface StreamConsumerOptions {
  /** For acks, claims and dead letters; the consumer opens connections of its own for its blocking reads. */
  redis: RedisClient;
  orm: MikroORM;
  prefix: string;
  /** The consuming service: the consumer group name on every stream. */
  service: string;
  /** Unique per replica (e.g. hostname-pid): pending entries are owned per consumer. */
  consumerName: string;
  streams: Producer[];
  handlers: Handlers;
  logger: Logger;
  /** Messages in flight at once (in the handler, queued behind their correlationId, or waiting to retry). Default 16. */
  concurrency?: number;
  /** Deliveries before an entry is dead-lettered. Default 5. */
  maxDeliveries?: number;
  /** First retry delay; doubles per delivery. Default 200 ms. */
  retryBaseMs?: number;
  /** Retry delay cap; keep it well below `claimIdleMs`. Default 10 s. */
  retryMaxMs?: number;
  /** An entry pending this long on some consumer is presumed abandoned and claimed. Must far exceed handler time. Default 30 s. */
  claimIdleMs?: number;
  /** How often to look for abandoned entries. Default claimIdleMs / 2, at most 10 s. */
  claimIntervalMs?: number;
  /**
   * How long a consumer keeps renewing its hold on an entry it has not settled. Past it the consumer is
   * presumed stuck on it and another replica may take it over (`claimIdleMs` later). Default 5 × claimIdleMs.
   * A handler stuck inside its transaction also keeps the event's processed mark locked, so the other
   * replica can apply the event only once Postgres has ended that transaction (`statementTimeoutMs`).
   */
  maxHoldMs?: number;
  /**
   * `statement_timeout` and `idle_in_transaction_session_timeout` of every event transaction (shared or
   * alone): a statement that hangs, or a handler awaiting something that never comes while its
   * transaction sits open, ends in a rollback that releases the event's processed mark and its row
   * locks. Default 15 s.
   */
  statementTimeoutMs?: number;
  /** XREADGROUP BLOCK timeout: bounds how long `stop()` may wait for the read loop. Default 1 s. */
  blockMs?: number;
  /**
   * Called once an event's transaction has committed and its entry is acknowledged (metrics, benchmarks),
   * with the time from transaction start to commit and where the entry was read (its id starts with the
   * millisecond Redis added it: the benchmark splits latency at the XADD with it).
   */
  onProcessed?: (event: ParsedEvent, handlerMs: number, entry: { key: string; entryId: string }) => void;
  /** Traces each handling as a child of the event's `traceparent`; by default the process-wide tracer (a no-op unless registered). */
  tracer?: Tracer;
  /**
   * Group commit: events ready at the same moment (one per correlationId) share one transaction, at most
   * this many. 1 gives every event its own transaction. Default 32. See group-commit.ts.
   */
  maxBatch?: number;
  /**
   * Replicas a dead letter must reach (`WAIT`) before the failed entry is acknowledged, so a fail-over
   * cannot lose both. Default 1 on a cluster, 0 on one Redis.
   */
  replicaAcks?: number;
  /** How long to wait for them; past it the entry stays pending and is dead-lettered again later. Default 1 s. */
  replicaAckTimeoutMs?: number;
}

/** One blocking reader of the consumer: the streams of one slot (all of them on one Redis). */
interface Reader {
  connection: StreamReader;
  /** Re-read this consumer's own pending entries of these streams before new ones (at start, after a read error). */
  backlog: boolean;
  failures: number;
}

/** Counters for metrics. */
export interface ConsumerStats {
  /** Events whose handler committed. */
  processed: number;
  /** Deliveries of events this group had already applied (no-ops). */
  duplicates: number;
  /** Events of a type with no handler here. */
  skipped: number;
  /** Handler attempts that threw. */
  failed: number;
  deadLettered: number;
  inFlight: number;
  /** Time from transaction start to commit of applied events. */
  handlerLatencyMs: { count: number; sum: number; max: number };
  /** Group commit: transactions shared by the events ready at once, events they carried, rollbacks. */
  shared: { transactions: number; events: number; rolledBack: number; contended: number };
}

type Parsed = { event: ParsedEvent } | { error: Error };

/**
 * A replica of a service's consumer group on its streams. At-least-once delivery, exactly-once effects:
 * each message is applied in one transaction with its `processed_event` mark and its emitted events, and
 * acknowledged only after that commit. See PROTOCOL.md "Consuming".
 */
export class StreamConsumer {
  private readonly concurrency: number;
  private readonly maxDeliveries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly claimIdleMs: number;
  private readonly claimIntervalMs: number;
  private readonly blockMs: number;
  private readonly maxHoldMs: number;
  private readonly statementTimeoutMs: number;
  private readonly keys: string[];
  private readonly replay: string;
  private readonly lanes = new SerialLanes();
  /** Entries being handled (queued, running or waiting to retry), by `<key> <entryId>`, with when they arrived. */
  private readonly inFlight = new Map<string, number>();
  private readonly progress = new Wakeup();
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readers: Reader[] = [];
  private loops: Promise<void>[] = [];
  private running = false;
  private readonly durability: { replicaAcks: number; replicaAckTimeoutMs: number };
  private readonly counters: Omit<ConsumerStats, "inFlight" | "handlerLatencyMs" | "shared"> = {
    processed: 0,
    duplicates: 0,
    skipped: 0,
    failed: 0,
    deadLettered: 0,
  };
  private readonly latency = { count: 0, sum: 0, max: 0 };
  private readonly group: GroupCommit | null;
  private readonly acks: AckBatcher;
  private readonly recovery: PendingRecovery;

  constructor(private readonly options: StreamConsumerOptions) {
    this.concurrency = options.concurrency ?? 16;
    this.maxDeliveries = options.maxDeliveries ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.claimIdleMs = options.claimIdleMs ?? 30_000;
    this.claimIntervalMs = options.claimIntervalMs ?? Math.min(this.claimIdleMs / 2, 10_000);
    this.blockMs = options.blockMs ?? 1_000;
    this.maxHoldMs = options.maxHoldMs ?? 5 * this.claimIdleMs;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
    this.replay = replayKey(options.prefix, options.service);
    this.keys = [...options.streams.map((producer) => streamKey(options.prefix, producer)), this.replay];
    this.logger = options.logger.child({ service: options.service, consumer: options.consumerName });
    this.durability = {
      replicaAcks: options.replicaAcks ?? defaultReplicaAcks(options.redis),
      replicaAckTimeoutMs: options.replicaAckTimeoutMs ?? 1_000,
    };
    this.acks = new AckBatcher(options.redis, options.service, new Set([this.replay]));
    this.recovery = new PendingRecovery({
      redis: options.redis,
      service: options.service,
      consumerName: options.consumerName,
      keys: this.keys,
      concurrency: this.concurrency,
      claimIdleMs: this.claimIdleMs,
      claimIntervalMs: this.claimIntervalMs,
      maxHoldMs: this.maxHoldMs,
      logger: this.logger,
      inFlight: this.inFlight,
      dispatch: (delivery) => this.dispatch(delivery),
      running: () => this.running,
    });
    const maxBatch = options.maxBatch ?? 32;
    this.group =
      maxBatch > 1
        ? new GroupCommit({
            orm: options.orm,
            group: options.service,
            tracer: options.tracer ?? defaultStreamsTracer(),
            maxBatch,
            statementTimeoutMs: this.statementTimeoutMs,
            logger: this.logger,
          })
        : null;
  }

  /** Creates the groups (from the start of each stream) and starts reading. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.createGroups(this.keys);
    // One blocking read per slot: a cluster serves each slot from its own master (PROTOCOL.md "Keys").
    this.readers = groupBySlot(this.options.redis, this.keys, (key) => key).map((keys, i) => ({
      // Who is who in CLIENT LIST.
      connection: new StreamReader(this.options.redis, keys, `${this.options.service}:${this.options.consumerName}:read${i}`),
      backlog: true,
      failures: 0,
    }));
    await Promise.all(this.readers.map((reader) => reader.connection.open()));
    this.running = true;
    this.loops = [...this.readers.map((reader) => this.readLoop(reader)), this.recovery.claimLoop(this.abort.signal)];
  }

  /**
   * The group on each of `keys`, from `0`, not `$`: events published before this service ever ran are
   * delivered, and so is everything still in a stream whose group a fail-over lost (NOGROUP: the
   * processed marks turn what was applied already into no-ops).
   */
  private async createGroups(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.options.redis.xgroup("CREATE", key, this.options.service, "0", "MKSTREAM");
      } catch (error) {
        if (!String(error).includes("BUSYGROUP")) throw error;
      }
    }
  }

  /** Stops reading, lets in-flight messages finish and be acknowledged, then returns. Retries waiting on backoff are left pending. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    this.progress.wake();
    // Release the blocked XREADGROUPs now instead of after `blockMs`; they return nothing, so nothing is orphaned.
    await Promise.all(this.readers.map((reader) => reader.connection.unblock()));
    await Promise.all(this.loops);
    while (this.inFlight.size > 0) await this.progress.wait(50);
    for (const reader of this.readers) reader.connection.close();
    this.readers = [];
  }

  /** Counters for metrics. */
  stats(): ConsumerStats {
    return {
      ...this.counters,
      inFlight: this.inFlight.size,
      handlerLatencyMs: { ...this.latency },
      shared: this.group?.stats() ?? { transactions: 0, events: 0, rolledBack: 0, contended: 0 },
    };
  }

  private async readLoop(reader: Reader): Promise<void> {
    const group = this.options.service;
    const { connection } = reader;
    while (this.running) {
      const room = this.concurrency - this.inFlight.size;
      if (room <= 0) {
        this.progress.clear();
        if (this.concurrency - this.inFlight.size <= 0) await this.progress.wait(1_000);
        continue;
      }
      let reply: [string, RawEntry[]][] | null;
      try {
        if (reader.backlog) {
          await this.recovery.readBacklog(connection.keys, (command, ...args) => connection.call(command, ...args));
          reader.backlog = false;
        }
        reply = (await connection.call(
          "XREADGROUP",
          "GROUP",
          group,
          this.options.consumerName,
          "COUNT",
          // Readers of several slots share the room; a busy one takes the rest in its following reads.
          Math.max(1, Math.floor(room / this.readers.length)),
          "BLOCK",
          this.blockMs,
          "STREAMS",
          ...connection.keys,
          ...connection.keys.map(() => ">"),
        )) as [string, RawEntry[]][] | null;
        if (reader.failures > 0) this.logger.info({ keys: connection.keys }, "stream reads recovered");
        reader.failures = 0;
      } catch (error) {
        if (!this.running) break;
        reader.backlog = true;
        if (reader.failures++ === 0) this.logger.error({ err: error, keys: connection.keys }, "cannot read streams; retrying with backoff");
        if (String(error).includes("NOGROUP")) {
          // The group (or the stream) is gone: a fail-over promoted a replica that never received it.
          this.logger.warn({ keys: connection.keys }, "consumer group missing; created again from the start of the stream");
          await this.createGroups(connection.keys).catch(() => undefined);
        }
        await sleep(backoff(reader.failures, 100, 5_000), this.abort.signal);
        continue;
      }
      const skip: [string, string[]][] = [];
      const fresh: Delivery[] = [];
      for (const [key, entries] of reply ?? []) {
        const ids: string[] = [];
        for (const [entryId, raw] of entries) {
          const fields = fieldsOf(raw);
          if (this.skippable(key, fields)) ids.push(entryId);
          else fresh.push({ key, entryId, fields, deliveries: 1 });
        }
        if (ids.length > 0) skip.push([key, ids]);
      }
      // One read returns each stream's entries in a block, in the order the streams were named. Taken in
      // the order Redis added them instead, an order's `order.cancelled` read together with its later
      // `inventory.reserved` is handled first (PROTOCOL.md "Concurrency and ordering").
      for (const delivery of fresh.sort(byEntryId)) this.dispatch(delivery);
      if (skip.length > 0) await this.ackSkipped(skip);
    }
  }

  /**
   * A new entry of a known event type this group has no handler for: most deliveries of a saga (each
   * service sees every event of the streams it reads). Acknowledged without parsing the envelope, as
   * nothing here would read it. Entries of unknown or missing type still go through `parse` and end in
   * the dead letters; replay entries (acknowledged and deleted) take the normal path.
   */
  private skippable(key: string, fields: Record<string, string>): boolean {
    const { type } = fields;
    return key !== this.replay && type !== undefined && isEventType(type) && !this.options.handlers[type];
  }

  /** One round trip for all the skipped entries of one read: an XACK per stream, pipelined (the streams of a read share a slot). */
  private async ackSkipped(skip: [string, string[]][]): Promise<void> {
    const { redis, service } = this.options;
    const pipeline = redis.pipeline();
    for (const [key, ids] of skip) pipeline.xack(key, service, ...ids);
    try {
      const results = (await pipeline.exec()) ?? [];
      skip.forEach(([, ids], i) => {
        if (results[i]?.[0]) throw results[i]![0];
        this.counters.skipped += ids.length;
      });
    } catch (error) {
      // Left pending: the claim loop takes them back after claimIdleMs and the normal path acks them.
      this.logger.error({ err: error }, "could not acknowledge skipped entries; they will be redelivered");
    }
  }

  private dispatch(delivery: Delivery): void {
    const token = `${delivery.key} ${delivery.entryId}`;
    if (this.inFlight.has(token)) return; // our own slow entry, claimed back by the recovery loop
    this.inFlight.set(token, Date.now());
    const parsed = parse(delivery.fields);
    // Same correlationId → one after another, in stream order; unparseable entries need no order.
    const lane = "event" in parsed ? parsed.event.correlationId : `malformed ${token}`;
    void this.lanes
      .run(lane, () => this.handle(delivery, parsed))
      .finally(() => {
        this.inFlight.delete(token);
        this.progress.wake();
      });
  }

  private async handle(delivery: Delivery, parsed: Parsed): Promise<void> {
    try {
      if ("error" in parsed) {
        return await this.deadLetter(delivery, parsed.error.message, delivery.deliveries);
      }
      const { event } = parsed;
      const handler = this.options.handlers[event.type] as Handler | undefined;
      if (!handler) {
        this.counters.skipped += 1;
        return await this.ack(delivery);
      }
      const crashed = crashLooped(delivery.deliveries, this.maxDeliveries);
      if (crashed) {
        const message = `delivered ${delivery.deliveries} times without an acknowledgement (did a consumer crash while handling it?)`;
        return await this.deadLetter(delivery, message, crashed.attempts);
      }
      await this.attempt(delivery, event, handler);
    } catch (error) {
      // Redis failed while acknowledging or dead-lettering: the entry stays pending and is claimed again
      // after claimIdleMs; the processed mark turns the redelivery into a no-op.
      this.logger.error({ err: error, key: delivery.key, entryId: delivery.entryId }, "could not settle a stream entry; it will be redelivered");
    }
  }

  /**
   * Runs the handler until it commits, the entry is dead-lettered, or the consumer stops. The first try
   * shares a transaction with the other events ready now (group commit); if that transaction rolls back,
   * for this event's fault or another's, the event is tried again alone, and only a failure alone counts.
   */
  private async attempt(delivery: Delivery, event: ParsedEvent, handler: Handler): Promise<void> {
    const logger = this.logger.child({ eventId: event.id, eventType: event.type, correlationId: event.correlationId });
    // The handler's failure in the shared transaction: the first failed attempt of the loop below.
    let sharedFailure: { error: unknown } | null = null;
    if (this.group) {
      const outcome = await this.group.apply({ event, key: delivery.key, logger, handler: handler as Handler });
      if (outcome.kind === "applied" || outcome.kind === "duplicate") {
        this.counters[outcome.kind === "applied" ? "processed" : "duplicates"] += 1;
        await this.ack(delivery);
        if (outcome.kind === "applied") {
          this.recordLatency(outcome.ms);
          this.options.onProcessed?.(event, outcome.ms, delivery);
        }
        return;
      }
      if (outcome.kind === "failed") sharedFailure = { error: outcome.error };
      else logger.debug({ err: outcome.error }, "shared transaction rolled back; applying the event alone");
    }
    let outage = 0;
    for (let deliveries = delivery.deliveries; ; deliveries += 1) {
      try {
        if (sharedFailure) {
          const { error } = sharedFailure;
          sharedFailure = null;
          throw error;
        }
        const applied = await this.apply(delivery, event, handler, logger);
        this.counters[applied !== null ? "processed" : "duplicates"] += 1;
        await this.ack(delivery);
        if (applied !== null) this.options.onProcessed?.(event, applied, delivery);
        return;
      } catch (error) {
        this.counters.failed += 1;
        const transient = isTransientInfrastructureError(error);
        if (transient) outage += 1;
        const decision = decideRetry(
          { deliveries, transient, outage },
          { maxDeliveries: this.maxDeliveries, baseMs: this.retryBaseMs, maxMs: this.retryMaxMs },
        );
        if (decision.kind === "dead-letter") return await this.deadLetter(delivery, errorMessage(error), decision.attempts, event.type);
        const delay = decision.delayMs;
        logger.warn({ err: error, deliveries, transient, retryInMs: delay }, "handler failed; will retry");
        // Retrying here, not via the claim loop, holds the correlationId's lane: later events of the same
        // order wait for this one instead of overtaking it.
        await sleep(delay, this.abort.signal);
        if (!this.running) return; // left pending: recovered by a claim after claimIdleMs
        // XCLAIM to ourselves resets the idle clock (so no other consumer takes it over while this one is
        // still retrying it) and, for a handler failure, counts the delivery in Redis (so a crash loop stays
        // bounded); JUSTID claims without counting, for an outage.
        const { key, entryId } = delivery;
        const { redis, service, consumerName } = this.options;
        const claimed = decision.counted
          ? await redis.xclaim(key, service, consumerName, 0, entryId)
          : await redis.xclaim(key, service, consumerName, 0, entryId, "JUSTID");
        if (claimed.length === 0) return; // acknowledged or taken over meanwhile
        if (!decision.counted) deliveries -= 1;
      }
    }
  }

  /**
   * One transaction: the processed mark, the handler's changes, its outbox rows. Returns the milliseconds
   * from transaction start to commit, or null when the event was already applied.
   *
   * Traced as a child of the event's `traceparent`: events the handler emits carry this span's context,
   * so the saga continues in the trace of the request that started it.
   */
  private async apply(delivery: Delivery, event: ParsedEvent, handler: Handler, logger: Logger): Promise<number | null> {
    const tracer = this.options.tracer ?? defaultStreamsTracer();
    const attributes = processSpanAttributes(delivery.key, this.options.service, event);
    return inSpan(
      tracer,
      `process ${event.type}`,
      { kind: SpanKind.CONSUMER, attributes },
      async (span) => {
        const started = performance.now();
        const em = this.options.orm.em.fork() as EntityManager;
        const applied = await commitWithEvents(
          em,
          async (tx, emit) => {
            // A concurrent duplicate blocks here on the primary key until the first commits (then no-op) or rolls back.
            // The same statement bounds the transaction's statements and idleness (no extra round trip).
            const timeout = `${this.statementTimeoutMs}ms`;
            const marked = await tx.execute<unknown[]>(
              `with settings as (select set_config('statement_timeout', ?, true), set_config('idle_in_transaction_session_timeout', ?, true))
             insert into processed_event (event_id, consumer_group) select ?::uuid, ? from settings
             on conflict do nothing returning 1 as ok`,
              [timeout, timeout, event.id, this.options.service],
            );
            if (marked.length === 0) return false;
            await handler(event, { em: tx, emit, logger });
            return true;
          },
          { tracer },
        );
        span.setAttribute("event.duplicate", !applied);
        if (!applied) return null;
        const ms = performance.now() - started;
        this.recordLatency(ms);
        return ms;
      },
      contextFromTraceparent(event.traceparent),
    );
  }

  private recordLatency(ms: number): void {
    this.latency.count += 1;
    this.latency.sum += ms;
    this.latency.max = Math.max(this.latency.max, ms);
  }

  /** Acknowledges with the other acks of this moment, in one round trip; replay entries are also deleted (one group reads them). */
  private ack(delivery: Delivery): Promise<void> {
    return this.acks.ack(delivery.key, delivery.entryId);
  }

  /**
   * Writes the dead letter (once per source entry, replicated), then acknowledges the entry: on a
   * cluster the two live in different slots, so no transaction spans them. A crash in between leaves
   * the entry pending; its redelivery finds the dead letter already written and only acknowledges it.
   */
  private async deadLetter(delivery: Delivery, error: string, attempts: number, type?: string): Promise<void> {
    const { redis, service, consumerName, prefix } = this.options;
    const fields = delivery.fields;
    await writeDeadLetter(
      redis,
      prefix,
      {
        stream: delivery.key,
        entryId: delivery.entryId,
        group: service,
        consumer: consumerName,
        type: type ?? fields.type ?? "unknown",
        error,
        attempts,
        envelope: fields.envelope ?? JSON.stringify(fields),
      },
      this.durability,
    );
    await this.ack(delivery);
    this.counters.deadLettered += 1;
    this.logger.error({ key: delivery.key, entryId: delivery.entryId, attempts, error }, "entry dead-lettered");
  }
}

function parse(fields: Record<string, string>): Parsed {
  try {
    if (fields.envelope === undefined) throw new Error('entry has no "envelope" field');
    return { event: parseEvent(JSON.parse(fields.envelope)) };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Stream entry ids (`<ms>-<seq>`) in the order Redis assigned them, across streams (same server clock).
 * Within one millisecond the order across streams is unknown (each stream numbers its own entries from
 * 0), and the sort, being stable, keeps the reply's order.
 */
function byEntryId(a: { entryId: string }, b: { entryId: string }): number {
  const [aMs, aSeq] = a.entryId.split("-").map(Number) as [number, number];
  const [bMs, bSeq] = b.entryId.split("-").map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}
