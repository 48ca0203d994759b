import type { EventHandler } from "@commerce/kit";

/**
 * A refund is the compensation of a cancellation the order already recorded
 * (CANCELLED is set at once, compensations follow). It is not a status, so
 * nothing is appended to statusHistory; the refund itself is the payment
 * subgraph's data (`Order.payment.status = REFUNDED` through the gateway).
 */
export const logOnPaymentRefunded: EventHandler<"payment.refunded"> = async (event, ctx) => {
  ctx.logger.info({ eventId: event.id, orderId: event.payload.orderId, amount: event.payload.amount }, "payment refunded");
};
