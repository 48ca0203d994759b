import { LockMode } from "@mikro-orm/core";
import type { HandlerContext } from "@commerce/streams";
import type { ParsedEvent } from "@commerce/schema";
import { Order, type OrderTrigger } from "../order/order.entity";
import { transition } from "../order/order.transitions";

/**
 * Applies saga `triggers` in turn to the order the event is about, under a row
 * lock. Triggers that do not apply to the order's status at that moment are
 * skipped: that is how late, duplicated and out-of-order events leave the order
 * alone. Logs (and otherwise ignores) an event none of whose triggers applied.
 */
export async function advanceOrder(event: ParsedEvent, orderId: string, triggers: OrderTrigger[], ctx: HandlerContext): Promise<void> {
  const em = ctx.em;
  const order = await em.findOne(Order, { id: orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  const log = ctx.logger.child({ eventId: event.id, correlationId: event.correlationId, orderId });
  if (!order) {
    log.warn({ type: event.type }, "event for an unknown order ignored");
    return;
  }
  let changed = false;
  for (const trigger of triggers) {
    if (transition(em, ctx.emit, order, trigger, { event })) changed = true;
  }
  if (!changed) log.info({ type: event.type, status: order.status }, "event ignored: the order has already left the state it applies to");
}
