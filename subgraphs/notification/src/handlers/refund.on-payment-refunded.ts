import { formatMoney, type EventHandler } from "@commerce/kit";
import { lockCancellation } from "../notification/order-cancellation.entity";
import { notifyOrderOwner } from "../notification/notify";

/**
 * Records the refund; tells the customer separately only when the cancellation
 * message already went out without it (otherwise that message will carry it).
 */
export const refundOnPaymentRefunded: EventHandler<"payment.refunded"> = async (event, { em }) => {
  const { orderId, amount } = event.payload;
  const cancellation = await lockCancellation(em, orderId);
  cancellation.refundAmount = amount.amount;
  cancellation.refundCurrency = amount.currency;
  if (!cancellation.cancelled) return;
  await notifyOrderOwner(em, event, "payment_refunded", { amount: formatMoney(amount) });
};
