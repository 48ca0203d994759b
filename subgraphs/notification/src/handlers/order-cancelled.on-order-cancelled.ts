import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { lockCancellation, tellCancellation } from "../notification/order-cancellation.entity";

/**
 * Tells the customer their order was cancelled, with the refund when it is already known. A paid
 * (CONFIRMED) order is refunded because of this very event, within milliseconds: its message waits
 * for `payment.refunded` (refund.on-payment-refunded.ts), so the customer gets one message that
 * says both, not a cancellation without the refund followed by a second one about the money.
 */
export const orderCancelledOnOrderCancelled: Handler<EventOf<"order.cancelled">> = async (event, { em }) => {
  const { orderId, userId, reason, previousStatus } = event.payload;
  const cancellation = await lockCancellation(em, orderId);
  cancellation.cancelled = true;
  const refund = cancellation.refund;
  if (!refund && previousStatus === "CONFIRMED") {
    cancellation.awaitingRefundReason = reason;
    return;
  }
  await tellCancellation(em, event.id, { orderId, userId, reason, refund });
};
