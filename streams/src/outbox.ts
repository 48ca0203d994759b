import { parseEvent, streamForType, type EventEnvelope } from '@commerce/schema';
import type { EntityManager } from '@mikro-orm/postgresql';
import { notifierFor, type OutboxNotifier } from './notifier';

/** Queues an event for the outbox of the current transaction. */
export type Emit = (event: EventEnvelope) => void;

/** The NOTIFY channel relays LISTEN on. Postgres delivers it on commit, and only then. */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * Inserts events into the outbox inside the transaction of `tx`, and queues `NOTIFY outbox` for commit.
 * One statement whatever the number of events; rows get ids in `events` order.
 *
 * @throws MalformedEventError when an event breaks its contract (validated on publish as well as on consume).
 */
export async function insertOutbox(tx: EntityManager, events: readonly EventEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => ({ s: streamForType(parseEvent(event).type), e: event }));
  await tx.execute(
    `with inserted as (
       insert into outbox (event_id, type, stream, correlation_id, payload)
       select (r->'e'->>'id')::uuid, r->'e'->>'type', r->>'s', r->'e'->>'correlationId', r->'e'
       from jsonb_array_elements(?::jsonb) with ordinality as t(r, n)
       order by n
       returning 1)
     select count(*) as n, pg_notify('${OUTBOX_CHANNEL}', '') from inserted`,
    [JSON.stringify(rows)],
  );
}

/** Options of {@link commitWithEvents}. */
export interface CommitOptions {
  /** Relays to wake after commit; by default the one shared by the ORM of `em`. */
  notifier?: OutboxNotifier;
}

/**
 * Runs `fn` in one database transaction and writes the events it emits to the outbox in that same
 * transaction, after flushing its domain changes: the state change and its events commit together or
 * not at all. The only way a service publishes events.
 *
 * @example
 * await commitWithEvents(em, async (tx, emit) => {
 *   const order = await tx.findOneOrFail(Order, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
 *   order.cancel(reason);
 *   emit(createEvent('order.cancelled', { ... }, { correlationId: order.id }));
 * });
 */
export async function commitWithEvents<R>(
  em: EntityManager,
  fn: (tx: EntityManager, emit: Emit) => Promise<R>,
  options: CommitOptions = {},
): Promise<R> {
  let emitted = 0;
  const result = await em.transactional(async (tx) => {
    const events: EventEnvelope[] = [];
    const value = await fn(tx, (event) => void events.push(event));
    // Flush first: the outbox ids are allocated after the domain rows are written (and locked), so two
    // transactions that touch the same aggregate get outbox ids in the order they commit.
    await tx.flush();
    await insertOutbox(tx, events);
    emitted = events.length;
    return value;
  });
  if (emitted > 0) (options.notifier ?? notifierFor(em.config)).notify();
  return result;
}
