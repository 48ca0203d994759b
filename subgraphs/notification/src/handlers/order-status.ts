import type { EventContext } from "@commerce/kit";
import type { EventOf } from "@commerce/schema";
import { notify, nameOf } from "../notification/notify";

/**
 * Tells the customer their order moved on (shipped, completed): for the order events whose payload is
 * only the order and its owner. The dedupe key (event, channel, user) makes a redelivery a no-op.
 */
export async function notifyOrderStatus(
  template: "order_shipped" | "order_completed",
  event: EventOf<"order.shipped" | "order.completed">,
  { em }: EventContext,
): Promise<void> {
  const { orderId, userId } = event.payload;
  await notify(em, {
    eventId: event.id,
    template,
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId }),
  });
}
