import { performance } from "node:perf_hooks";
import type { EventEnvelope, ParsedEvent } from "@commerce/schema";
import { EventType, type Transaction, type TransactionEventType } from "@mikro-orm/core";
import type { EntityManager, Knex, MikroORM } from "@mikro-orm/postgresql";
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type SpanContext, type Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { insertOutbox } from "./outbox";
import { contextFromTraceparent, inSpan } from "./trace-context";
import { isContentionError } from "./transient";

/** What a handler is called with: see `HandlerContext` in consumer.ts. */
export interface GroupHandlerContext {
  em: EntityManager;
  emit: (event: EventEnvelope) => void;
  logger: Logger;
}

/** One event waiting for a place in a shared transaction. */
export interface GroupItem {
  event: ParsedEvent;
  /** The stream it was read from: traced as the destination. */
  key: string;
  logger: Logger;
  handler: (event: ParsedEvent, ctx: GroupHandlerContext) => Promise<void>;
}

/**
 * How one item ended:
 * - `applied`: its changes, its processed mark and its events committed (`ms` from transaction start to commit);
 * - `duplicate`: this group had already applied it; nothing changed;
 * - `failed`: its handler threw; the shared transaction rolled back, and this counts as a failed attempt;
 * - `retry`: the shared transaction rolled back through no fault of this item (another item's handler
 *   threw, a deadlock, the database went away); nothing of it was kept and it must be applied on its own.
 */
export type GroupOutcome =
  { kind: "applied"; ms: number } | { kind: "duplicate" } | { kind: "failed"; error: unknown } | { kind: "retry"; error: unknown };

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  orm: MikroORM;
  /** The consumer group: the `consumer_group` of the processed marks. */
  group: string;
  tracer: Tracer;
  /** Most events per transaction. Default 32. */
  maxBatch?: number;
  /**
   * Most shared transactions open at once. Default 1: two shared transactions of one process that lock
   * the same rows (stock of a popular product, a customer's wallet) in different orders deadlock, and
   * Postgres only notices after `deadlock_timeout` (1 s).
   */
  maxParallel?: number;
  /**
   * `lock_timeout` inside a shared transaction. A handler that waits longer for a lock (another
   * replica's shared transaction, which may be waiting for this one) gives up the whole batch, whose
   * events are then applied alone, as they would without group commit. Default 200 ms (well under
   * the 1 s a deadlock takes to be detected).
   */
  lockTimeoutMs?: number;
  /**
   * `statement_timeout` inside a shared transaction: a statement that hangs (a lost connection the
   * kernel has not noticed, a runaway query) fails the batch instead of stalling every event of the
   * consumer behind it. Default 15 s.
   */
  statementTimeoutMs?: number;
  /**
   * A shared transaction still open after this long (a handler awaiting something that never settles)
   * is abandoned: its events are applied alone, and it can no longer commit. Default 60 s.
   */
  transactionTimeoutMs?: number;
  /** Where failures of post-commit subscribers are reported. */
  logger?: Logger;
}

/** The attributes of the span of one event's handling (OpenTelemetry messaging conventions). */
export function processSpanAttributes(key: string, group: string, event: ParsedEvent): Attributes {
  return {
    "messaging.system": "redis",
    "messaging.operation.type": "process",
    "messaging.destination.name": key,
    "messaging.consumer.group.name": group,
    "messaging.message.id": event.id,
    "messaging.message.conversation_id": event.correlationId,
    "event.type": event.type,
  };
}

/**
 * The transaction events MikroORM gives the EntityManager of `em.transactional`, given to each handler's
 * own EntityManager of the shared transaction (the transaction itself is begun and committed on the
 * connection, which broadcasts nothing).
 */
async function broadcast(ems: EntityManager[], event: TransactionEventType, transaction: unknown): Promise<void> {
  for (const em of ems)
    await em.getEventManager().dispatchEvent(event, { em, transaction: transaction as Transaction, uow: em.getUnitOfWork(false) });
}

/**
 * Commits `trx` (as MikroORM's `connection.commit` does, without its hooks: see `broadcast`) and throws
 * if Postgres rolled it back instead. A handler that caught a failed statement leaves the transaction
 * aborted, and Postgres answers its COMMIT with a ROLLBACK, no error: the batch would be acknowledged
 * with nothing applied.
 */
async function commitOrThrow(trx: Knex.Transaction): Promise<void> {
  const answer = (await trx.commit()) as { response?: { command?: string } } | undefined;
  await trx.executionPromise;
  const command = answer?.response?.command;
  if (command !== "COMMIT") throw new Error(`COMMIT was answered with ${command ?? "nothing"}: the transaction was aborted, nothing applied`);
}

/** The handler of `item` threw `cause`: that item failed, the others of its transaction are innocent. */
class HandlerFailed extends Error {
  constructor(
    readonly item: GroupItem,
    override readonly cause: unknown,
  ) {
    super("handler failed");
  }
}

/** The deadline's hold on a shared transaction: set when it is abandoned; how to roll it back then. */
interface Abandon {
  abandoned: boolean;
  release?: () => void;
}

interface Waiting {
  item: GroupItem;
  settle: (outcome: GroupOutcome) => void;
}

/**
 * Group commit for a consumer: the events ready at the same moment (one per correlationId lane) applied
 * in one database transaction, all or nothing; a failed batch comes back as `retry`, each event to be
 * applied alone. Why and how: streams/PROTOCOL.md "Group commit".
 */
export class GroupCommit {
  private readonly maxBatch: number;
  private readonly maxParallel: number;
  private readonly lockTimeoutMs: number;
  private readonly statementTimeoutMs: number;
  private readonly transactionTimeoutMs: number;
  private readonly queue: Waiting[] = [];
  private active = 0;
  private scheduled = false;
  private readonly counters = { transactions: 0, events: 0, rolledBack: 0, contended: 0 };

  constructor(private readonly options: GroupCommitOptions) {
    this.maxBatch = options.maxBatch ?? 32;
    this.maxParallel = options.maxParallel ?? 1;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 200;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
  }

  /** Shared transactions run, events they carried, those that rolled back, and of those the ones lost to lock contention. */
  stats(): { transactions: number; events: number; rolledBack: number; contended: number } {
    return { ...this.counters };
  }

  /** Queues `item` for the next transaction; resolves once that transaction has committed or rolled back. */
  apply(item: GroupItem): Promise<GroupOutcome> {
    return new Promise((settle) => {
      this.queue.push({ item, settle });
      // Entries of one XREADGROUP reply are dispatched in one turn of the event loop: wait for the end of
      // that turn so they share a transaction instead of the first one running alone.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.active < this.maxParallel && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.active += 1;
      void this.run(batch).finally(() => {
        this.active -= 1;
        this.drain();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    const items = batch.map((w) => w.item);
    this.counters.transactions += 1;
    this.counters.events += items.length;
    // One shared transaction at a time: one that never ends would stall every event of the consumer.
    // Past the deadline it is abandoned (it cannot commit any more) and its events go alone.
    const abandon: Abandon = { abandoned: false };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandon.abandoned = true;
        abandon.release?.(); // roll back now: gives the connection back to the pool, releases the locks
        reject(new Error(`shared transaction still open after ${this.transactionTimeoutMs} ms; abandoned`));
      }, this.transactionTimeoutMs);
    });
    const outcomes = await Promise.race([this.transaction(items, abandon), deadline])
      .finally(() => clearTimeout(timer))
      .catch((error: unknown) => {
        this.counters.rolledBack += 1;
        // A lock timeout, deadlock or serialization failure is nobody's fault: every event goes alone.
        const contended = isContentionError(error instanceof HandlerFailed ? error.cause : error);
        if (contended) this.counters.contended += 1;
        return items.map((item): GroupOutcome =>
          error instanceof HandlerFailed && error.item === item && !contended ? { kind: "failed", error: error.cause } : { kind: "retry", error },
        );
      });
    batch.forEach((w, i) => w.settle(outcomes[i]!));
  }

  private async transaction(items: GroupItem[], abandon: Abandon): Promise<GroupOutcome[]> {
    const { orm, group, tracer } = this.options;
    const started = performance.now();
    // The transaction is begun on the connection, not through an EntityManager: an EntityManager's
    // begin/commit would broadcast transaction events to the ORM's global subscribers once more on top
    // of each handler's copy (below). `root` only runs this class's own statements in it.
    const connection = orm.em.getConnection("write");
    const trx = await connection.begin();
    abandon.release = () => void connection.rollback(trx).catch(() => undefined);
    const root = orm.em.fork() as EntityManager;
    root.setTransactionContext(trx);
    // Each handler's EntityManager, with its own copy of the event manager (as `em.transactional` gives):
    // subscribers a handler registers (`afterCommit` in the kit) hear its commit, and only its own.
    const handlerEms: EntityManager[] = [];
    let fresh: Set<string>;
    try {
      // Lower case, as Postgres returns uuids (an envelope may spell its id in upper case); sorted, so
      // two replicas marking overlapping duplicates lock the keys in the same order.
      const ids = [...new Set(items.map((i) => i.event.id.toLowerCase()))].sort();
      // A concurrent duplicate blocks here on the primary key until the other transaction ends.
      // The same statement sets the transaction's lock and statement timeouts (no extra round trip).
      const marked = await root.execute<{ event_id: string }[]>(
        `with settings as (select set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true),
                                  set_config('idle_in_transaction_session_timeout', ?, true))
         insert into processed_event (event_id, consumer_group)
         select unnest(string_to_array(?, ',')::uuid[]), ? from settings order by 1
         on conflict do nothing returning event_id`,
        // one text parameter for the ids: knex would spread an array into a list of parameters
        [`${this.lockTimeoutMs}ms`, `${this.statementTimeoutMs}ms`, `${this.statementTimeoutMs}ms`, ids.join(","), group],
      );
      fresh = new Set(marked.map((r) => r.event_id));
      const events: EventEnvelope[] = [];
      const emitters: SpanContext[] = [];
      for (const item of items) {
        if (!fresh.has(item.event.id.toLowerCase())) continue;
        try {
          const before = events.length;
          const em = orm.em.fork({ cloneEventManager: true }) as EntityManager;
          handlerEms.push(em);
          const span = await this.handle(item, em, trx, events);
          if (events.length > before) emitters.push(span);
        } catch (error) {
          throw new HandlerFailed(item, error);
        }
      }
      if (events.length > 0) {
        // One insert for every handler's events. Its span belongs to the first emitting handler's trace
        // and links the others' (the OpenTelemetry shape of a batch serving several traces).
        const [parent, ...others] = emitters;
        await inSpan(
          tracer,
          "outbox insert",
          {
            kind: SpanKind.INTERNAL,
            attributes: { "outbox.events": events.length, "outbox.event_types": [...new Set(events.map((e) => e.type))] },
            links: others.map((context) => ({ context })),
          },
          () => insertOutbox(root, events),
          trace.setSpanContext(ROOT_CONTEXT, parent!),
        );
      }
      await broadcast(handlerEms, EventType.beforeTransactionCommit, trx);
      if (abandon.abandoned) throw new Error("abandoned after its deadline; not committed");
      await commitOrThrow(trx as Knex.Transaction);
    } catch (error) {
      await connection.rollback(trx).catch(() => undefined); // a lost connection has rolled back already
      await broadcast(handlerEms, EventType.afterTransactionRollback, trx).catch(() => undefined);
      throw error;
    }
    // Committed: nothing below may turn the outcome into a rollback. A subscriber that throws is
    // reported and the others still hear the commit.
    for (const em of handlerEms) {
      await broadcast([em], EventType.afterTransactionCommit, trx).catch((error: unknown) =>
        this.options.logger?.error({ err: error }, "an after-commit subscriber failed; the transaction is committed"),
      );
    }
    const ms = performance.now() - started;
    return items.map((item): GroupOutcome => (fresh.has(item.event.id.toLowerCase()) ? { kind: "applied", ms } : { kind: "duplicate" }));
  }

  /**
   * Runs one handler on its own EntityManager bound to the shared transaction, flushing its changes
   * before the next handler runs (so row locks are taken in handler order), inside a span that continues
   * the event's trace: the events it emits carry that span's context.
   */
  private async handle(item: GroupItem, em: EntityManager, trx: unknown, events: EventEnvelope[]): Promise<SpanContext> {
    const { event, key, logger, handler } = item;
    const attributes = processSpanAttributes(key, this.options.group, event);
    return inSpan(
      this.options.tracer,
      `process ${event.type}`,
      { kind: SpanKind.CONSUMER, attributes },
      async (span) => {
        em.setTransactionContext(trx);
        await handler(event, { em, emit: (e) => void events.push(e), logger });
        await em.flush();
        return span.spanContext();
      },
      contextFromTraceparent(event.traceparent),
    );
  }
}
