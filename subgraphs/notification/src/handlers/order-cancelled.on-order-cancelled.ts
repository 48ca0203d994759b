import { formatMoney, type EventHandler } from "@commerce/kit";
import { lockCancellation } from "../notification/order-cancellation.entity";
import { notifyOrderOwner } from "../notification/notify";

/** Tells the customer their order was cancelled, with the refund when it is already known. */
export const orderCancelledOnOrderCancelled: EventHandler<"order.cancelled"> = async (event, { em }) => {
  const cancellation = await lockCancellation(em, event.payload.orderId);
  cancellation.cancelled = true;
  const refund = cancellation.refund;
  await notifyOrderOwner(em, event, "order_cancelled", {
    reason: event.payload.reason,
    refund: refund ? `We refunded ${formatMoney(refund)} to your wallet.` : "",
  });
};
