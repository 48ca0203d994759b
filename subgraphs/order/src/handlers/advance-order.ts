import type { EntityManager } from "@mikro-orm/postgresql";
import type { HandlerContext } from "@commerce/streams";
import type { ParsedEvent } from "@commerce/schema";
import { Order, type OrderTrigger } from "../order/order.entity";
import { applyTrigger } from "../order/order.transitions";

/**
 * Applies saga `triggers` in turn to the order the event is about, under a row
 * lock. Triggers that do not apply to the order's status at that moment are
 * skipped: that is how late, duplicated and out-of-order events leave the order
 * alone. Logs (and otherwise ignores) an event none of whose triggers applied.
 * Two statements: the locked read, then the order and its history entries.
 */
export async function advanceOrder(event: ParsedEvent, orderId: string, triggers: OrderTrigger[], ctx: HandlerContext): Promise<void> {
  const em = ctx.em;
  const order = await lockOrderRow(em, orderId);
  const log = ctx.logger.child({ eventId: event.id, correlationId: event.correlationId, orderId });
  if (!order) {
    log.warn({ type: event.type }, "event for an unknown order ignored");
    return;
  }
  const entries = triggers.flatMap((trigger) => applyTrigger(em, ctx.emit, order, trigger, { event }) ?? []);
  if (!entries.length) {
    log.info({ type: event.type, status: order.status }, "event ignored: the order has already left the state it applies to");
    return;
  }
  await em.execute(
    `with o as (update orders set status = ?, failure_reason = ?, updated_at = ?, version = ? where id = ?)
     insert into order_status_changes (order_id, status, previous_status, at, reason, cause_event_id, actor)
     select ?::uuid, h.status, h.previous_status, h.at, h.reason, h.cause_event_id, h.actor
     from jsonb_to_recordset(?::jsonb) as h(status text, previous_status text, at timestamptz, reason text, cause_event_id uuid, actor text)`,
    [
      order.status,
      order.failureReason,
      order.updatedAt,
      order.version,
      order.id,
      order.id,
      JSON.stringify(
        entries.map((e) => ({
          status: e.status,
          previous_status: e.previousStatus,
          at: e.at.toISOString(),
          reason: e.reason,
          cause_event_id: e.causeEventId,
          actor: e.actor,
        })),
      ),
    ],
  );
}

/** The order, row-locked, read without the unit of work: the saga handlers write it back themselves. */
async function lockOrderRow(em: EntityManager, orderId: string): Promise<Order | null> {
  const [row] = await em.execute<Record<string, unknown>[]>(
    `select id, user_id as "userId", name, status, failure_reason as "failureReason", total_amount as "totalAmount",
            total_currency as "totalCurrency", idempotency_key as "idempotencyKey", created_at as "createdAt",
            updated_at as "updatedAt", version
     from orders where id = ? for update`,
    [orderId],
  );
  return row ? Object.assign(Object.create(Order.prototype) as Order, row) : null;
}
