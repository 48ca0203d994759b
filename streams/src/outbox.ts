import { parseEvent, streamForType, type EventEnvelope } from "@commerce/schema";
import type { EntityManager } from "@mikro-orm/postgresql";
import { SpanKind, type Tracer } from "@opentelemetry/api";
import { defaultStreamsTracer, inSpan } from "./trace-context";

/** Queues an event for the outbox of the current transaction. */
export type Emit = (event: EventEnvelope) => void;

/**
 * Inserts events into the outbox inside the transaction of `tx`. One statement whatever the number of
 * events; rows get ids in `events` order. The relay decodes the insert from the WAL once the
 * transaction commits (no NOTIFY, no wake-up, no later UPDATE).
 *
 * @throws MalformedEventError when an event breaks its contract (validated on publish as well as on consume).
 */
export async function insertOutbox(tx: EntityManager, events: readonly EventEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  await tx.execute(`with inserted as (${OUTBOX_INSERT} returning 1) select count(*) as n from inserted`, [outboxRows(events)]);
}

/**
 * The outbox insert of {@link insertOutbox}, for a caller that writes its state and its events in one
 * statement (a data-modifying CTE, atomic without a transaction): one `?`, bound to {@link outboxRows}.
 */
export const OUTBOX_INSERT = `insert into outbox (event_id, type, stream, correlation_id, payload)
       select (r->'e'->>'id')::uuid, r->'e'->>'type', r->>'s', r->'e'->>'correlationId', r->'e'
       from jsonb_array_elements(?::jsonb) with ordinality as t(r, n)
       order by n`;

/**
 * The parameter of {@link OUTBOX_INSERT}: `events`, each validated against its contract.
 *
 * @throws MalformedEventError when an event breaks its contract.
 */
export function outboxRows(events: readonly EventEnvelope[]): string {
  return JSON.stringify(events.map((event) => ({ s: streamForType(parseEvent(event).type), e: event })));
}

/** Options of {@link commitWithEvents}. */
export interface CommitOptions {
  /** Traces the outbox insert as a child of the active span; by default the process-wide tracer (a no-op unless registered). */
  tracer?: Tracer;
}

/**
 * Runs `fn` in one database transaction and writes the events it emits to the outbox in that same
 * transaction, after flushing its domain changes: the state change and its events commit together or
 * not at all. The only way a service publishes events.
 * @example await commitWithEvents(em, async (tx, emit) => { order.cancel(reason); emit(createEvent("order.cancelled", …)); });
 */
export async function commitWithEvents<R>(
  em: EntityManager,
  fn: (tx: EntityManager, emit: Emit) => Promise<R>,
  options: CommitOptions = {},
): Promise<R> {
  return em.transactional(async (tx) => {
    const events: EventEnvelope[] = [];
    const value = await fn(tx, (event) => void events.push(event));
    // Flush first: the outbox ids are allocated after the domain rows are written (and locked), so two
    // transactions that touch the same aggregate get outbox ids in the order they commit.
    await tx.flush();
    if (events.length > 0) {
      // Its own span: the insert's time shows apart from the domain work in the request's or handler's trace.
      await inSpan(
        options.tracer ?? defaultStreamsTracer(),
        "outbox insert",
        { kind: SpanKind.INTERNAL, attributes: { "outbox.events": events.length, "outbox.event_types": [...new Set(events.map((e) => e.type))] } },
        () => insertOutbox(tx, events),
      );
    } else {
      // If `fn` caught a failed statement, the transaction is aborted and Postgres answers COMMIT with a
      // silent ROLLBACK that knex does not report: the caller (a consumer acknowledging its event, a
      // resolver answering its client) would take nothing for done. Any statement fails on an aborted
      // transaction; the outbox insert above is one, this is the other.
      await tx.execute("select 1");
    }
    return value;
  });
}
