import { audit, type EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { lockOrder } from "../payment/cancelled-order.entity";
import { Payment } from "../payment/payment.entity";
import type { PaymentSettings } from "../settings";
import { lockWallet } from "../wallet/open-wallet";

/**
 * Records the cancellation (so a late reservation is never charged) and gives
 * a captured payment back to the wallet. A failed payment, or none, needs nothing.
 */
export const refundOnOrderCancelled: EventHandler<"order.cancelled", PaymentSettings> = async (event, { em, emit, logger, settings }) => {
  const { orderId } = event.payload;
  await lockOrder(em, orderId);
  await em.execute(`insert into cancelled_orders (order_id, cancelled_at) values (?, now()) on conflict do nothing`, [orderId]);
  const payment = await em.findOne(Payment, { orderId });
  if (!payment?.refund()) return;

  const by = `event:${event.id}`;
  const wallet = await lockWallet(em, payment.userId, settings, by);
  em.persist(wallet.refund(payment.amount, { orderId, paymentId: payment.id, by }));
  // The actor is the cancellation event; the order service's audit row of the same correlation id says who cancelled.
  const { reason, expired, previousStatus } = event.payload;
  audit(
    em,
    { event },
    {
      action: "payment.refunded",
      targetType: "Payment",
      targetId: payment.id,
      details: { orderId, userId: payment.userId, amount: payment.amount, cancellation: { eventId: event.id, reason, expired, previousStatus } },
    },
  );
  emit(
    createEvent(
      "payment.refunded",
      { orderId, userId: payment.userId, paymentId: payment.id, amount: payment.amount },
      { correlationId: orderId, causation: event },
    ),
  );
  logger.info({ orderId, paymentId: payment.id }, "payment refunded");
};
