import { ref } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { afterCommit, metricsOf } from "@commerce/kit";
import { createEvent, OUTBOX_INSERT, outboxRows } from "@commerce/streams";
import type { EventEnvelope } from "@commerce/schema";
import { reasonOf, type Order, type OrderStatus, type OrderTrigger } from "./order.entity";
import { OrderItem } from "./order-item.entity";
import { OrderStatusChange } from "./order-status-change.entity";

/** Whatever caused a status change: the saga event (handlers) or who acted (resolvers, jobs). */
export interface Cause {
  event?: EventEnvelope;
  actor?: string;
  at?: Date;
}

type Emit = (event: EventEnvelope) => void;

/** Where a saga ends, or settles for good: counted in `saga_outcomes_total{status}`. */
const OUTCOMES: ReadonlySet<OrderStatus> = new Set(["CONFIRMED", "OUT_OF_STOCK", "PAYMENT_FAILED", "CANCELLED", "COMPLETED"]);

/** Counts the order reaching `status` once its transaction commits (a rolled-back or retried handler counts nothing). */
function countOutcome(tx: EntityManager, status: OrderStatus): void {
  if (!OUTCOMES.has(status)) return;
  const metrics = metricsOf(tx);
  if (!metrics) return; // not started by the kit (unit tests of the state machine)
  const counter =
    (metrics.registry.getSingleMetric("saga_outcomes_total") as ReturnType<typeof metrics.counter> | undefined) ??
    metrics.counter("saga_outcomes_total", "Orders reaching a saga outcome, by status", ["status"]);
  afterCommit(tx, () => counter.inc({ status }));
}

/** One entry of an order's status history, as written. */
export interface StatusRecord {
  status: OrderStatus;
  previousStatus: OrderStatus | null;
  reason: string | null;
  at: Date;
  causeEventId: string | null;
  actor: string | null;
}

/** Emits `order.status_changed` for `change` and returns its history entry (the caller writes it). */
function announce(
  emit: Emit,
  order: Order,
  change: { status: OrderStatus; previousStatus: OrderStatus | null; reason: string | null },
  cause: Cause,
  at: Date,
): StatusRecord {
  emit(
    createEvent(
      "order.status_changed",
      { orderId: order.id, userId: order.userId, ...change, at: at.toISOString() },
      { correlationId: order.id, causation: cause.event },
    ),
  );
  return { ...change, at, causeEventId: cause.event?.id ?? null, actor: cause.actor ?? null };
}

function record(
  tx: EntityManager,
  emit: Emit,
  order: Order,
  change: { status: OrderStatus; previousStatus: OrderStatus | null; reason: string | null },
  cause: Cause,
  at: Date,
): void {
  tx.persist(new OrderStatusChange({ order: ref(order), ...announce(emit, order, change, cause, at) }));
}

/**
 * Writes a new order: the order, its items, its PENDING history entry, `order.placed` and the first
 * `order.status_changed`, in one statement (atomic on its own: no transaction, no unit of work).
 * A repeated (user, idempotency key) fails it whole with a unique violation.
 */
export async function insertPlacement(em: EntityManager, order: Order, items: OrderItem[], cause: Cause): Promise<void> {
  const events: EventEnvelope[] = [];
  const emit: Emit = (event) => void events.push(event);
  emit(
    createEvent(
      "order.placed",
      {
        orderId: order.id,
        userId: order.userId,
        items: items.map((item) => ({ productId: item.productId, quantity: item.quantity, unitPrice: item.unitPrice })),
        total: order.total,
        name: order.name ?? null,
      },
      { correlationId: order.id },
    ),
  );
  const entry = announce(emit, order, { status: order.status, previousStatus: null, reason: "order placed" }, cause, order.createdAt);
  await em.execute(
    `with o as (
       insert into orders (id, user_id, name, status, failure_reason, total_amount, total_currency, idempotency_key, created_at, updated_at, version)
       values (?, ?, ?, ?, null, ?, ?, ?, ?, ?, ?) returning id),
     i as (
       insert into order_items (id, order_id, line, product_id, quantity, unit_price_amount, unit_price_currency)
       select l.id, (select id from o), l.line, l.product_id, l.quantity, l.amount, l.currency
       from jsonb_to_recordset(?::jsonb) as l(id uuid, line int, product_id uuid, quantity int, amount int, currency text)),
     h as (
       insert into order_status_changes (order_id, status, previous_status, at, reason, cause_event_id, actor)
       select id, ?, null, ?, ?, null, ? from o),
     e as (${OUTBOX_INSERT})
     select 1`,
    [
      order.id,
      order.userId,
      order.name,
      order.status,
      order.totalAmount,
      order.totalCurrency,
      order.idempotencyKey,
      order.createdAt,
      order.updatedAt,
      order.version,
      JSON.stringify(
        items.map((item) => ({
          id: item.id,
          line: item.line,
          product_id: item.productId,
          quantity: item.quantity,
          amount: item.unitPriceAmount,
          currency: item.unitPriceCurrency,
        })),
      ),
      entry.status,
      entry.at,
      entry.reason,
      entry.actor,
      outboxRows(events),
    ],
  );
}

/**
 * Moves `order` by `trigger` if its state machine allows it, appending the
 * history entry and emitting `order.status_changed` plus the event specific to
 * the new status. Returns false (and changes nothing) when the trigger does
 * not apply to the order's current status.
 */
export function transition(tx: EntityManager, emit: Emit, order: Order, trigger: OrderTrigger, cause: Cause): boolean {
  const entry = applyTrigger(tx, emit, order, trigger, cause);
  if (!entry) return false;
  tx.persist(new OrderStatusChange({ order: ref(order), ...entry }));
  return true;
}

/**
 * {@link transition} for a caller that writes the order and its history itself (the saga handlers, in
 * one statement): changes `order` in memory, emits the events and returns the history entry, or null.
 */
export function applyTrigger(tx: EntityManager, emit: Emit, order: Order, trigger: OrderTrigger, cause: Cause): StatusRecord | null {
  const at = cause.at ?? new Date();
  const change = order.apply(trigger, at);
  if (!change) return null;
  const reason = reasonOf(trigger);
  const entry = announce(emit, order, { ...change, reason }, cause, at);
  // Every status change goes through here (handlers, resolvers, the expiry job): the one place to count outcomes.
  countOutcome(tx, change.status);
  const base = { orderId: order.id, userId: order.userId };
  const options = { correlationId: order.id, causation: cause.event };
  switch (trigger.type) {
    case "payment_captured":
      emit(createEvent("order.confirmed", { ...base, total: order.total }, options));
      break;
    case "cancel":
      emit(
        createEvent("order.cancelled", { ...base, reason: trigger.reason, previousStatus: change.previousStatus, expired: trigger.expired }, options),
      );
      break;
    case "ship":
      emit(createEvent("order.shipped", base, options));
      break;
    case "complete":
      emit(createEvent("order.completed", base, options));
      break;
    case "stock_reserved":
    case "stock_rejected":
    case "payment_failed":
      // No event of its own: order.status_changed says it all.
      break;
    default: {
      const unhandled: never = trigger;
      throw new Error(`unhandled trigger ${JSON.stringify(unhandled)}`);
    }
  }
  return entry;
}
