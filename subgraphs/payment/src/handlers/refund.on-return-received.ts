import { Money, audit, type EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { lockOrder } from "../payment/cancelled-order.entity";
import { Payment } from "../payment/payment.entity";
import { ReturnRefund, refundedByReturns } from "../payment/return-refund.entity";
import type { PaymentSettings } from "../settings";
import { lockWallet } from "../wallet/open-wallet";

/**
 * Refunds a received return to the wallet: the returned units' price, capped at what the order's
 * capture has left after its earlier returns (so 0 for an order never captured or already refunded).
 * Once per return, under the order's lock: the `return_refunds` row decides.
 */
export const refundOnReturnReceived: EventHandler<"return.received", PaymentSettings> = async (event, { em, emit, logger, settings }) => {
  const { returnId, orderId, userId, refund } = event.payload;
  await lockOrder(em, orderId);
  if (await em.findOne(ReturnRefund, { returnId })) {
    logger.info({ returnId, orderId }, "return.received: this return is already refunded");
    return;
  }
  const payment = await em.findOne(Payment, { orderId });
  const captured = payment?.status === "CAPTURED" && payment.currency === refund.currency ? payment.amountMinor : 0;
  const amount = Math.max(0, Math.min(refund.amount, captured - (await refundedByReturns(em, orderId))));
  const paymentId = payment?.id ?? null;
  em.persist(new ReturnRefund({ returnId, orderId, paymentId, amountMinor: amount, currency: refund.currency }));
  if (payment && amount > 0) {
    const by = `event:${event.id}`;
    const wallet = await lockWallet(em, payment.userId, settings, by);
    em.persist(wallet.refund(Money.of(amount, refund.currency), { orderId, paymentId: payment.id, returnId, by }));
    audit(
      em,
      { event },
      {
        action: "payment.return_refunded",
        targetType: "Payment",
        targetId: payment.id,
        details: { orderId, returnId, userId: payment.userId, asked: refund, amount: Money.of(amount, refund.currency) },
      },
    );
  }
  emit(
    createEvent(
      "payment.return_refunded",
      { returnId, orderId, userId, paymentId, amount: Money.of(amount, refund.currency) },
      { correlationId: orderId, causation: event },
    ),
  );
  logger.info({ returnId, orderId, amount, asked: refund.amount }, "return refunded");
};
