import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { formatMoney } from "@commerce/kit";
import { lockCancellation, tellCancellation } from "../notification/order-cancellation.entity";
import { notify, nameOf } from "../notification/notify";

/**
 * Records the refund. A paid order's cancellation that waited for it is told now, refund included;
 * a cancellation message that already went out without it gets a separate refund message; before
 * the cancellation is seen, nothing is sent (that message will carry it).
 */
export const refundOnPaymentRefunded: Handler<EventOf<"payment.refunded">> = async (event, { em }) => {
  const { orderId, userId, amount } = event.payload;
  const cancellation = await lockCancellation(em, orderId);
  cancellation.refundAmount = amount.amount;
  cancellation.refundCurrency = amount.currency;
  if (!cancellation.cancelled) return;
  const waiting = cancellation.awaitingRefundReason;
  if (waiting !== null) {
    cancellation.awaitingRefundReason = null;
    await tellCancellation(em, event.id, { orderId, userId, reason: waiting, refund: amount });
    return;
  }
  await notify(em, {
    eventId: event.id,
    template: "payment_refunded",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, amount: formatMoney(amount) }),
  });
};
