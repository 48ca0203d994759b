import { formatMoney, type EventHandler } from "@commerce/kit";
import { lockCancellation } from "../notification/order-cancellation.entity";
import { notify, nameOf } from "../notification/notify";

/** Tells the customer their order was cancelled, with the refund when it is already known. */
export const orderCancelledOnOrderCancelled: EventHandler<"order.cancelled"> = async (event, { em }) => {
  const { orderId, userId, reason } = event.payload;
  const cancellation = await lockCancellation(em, orderId);
  cancellation.cancelled = true;
  const refund = cancellation.refund;
  await notify(em, {
    eventId: event.id,
    template: "order_cancelled",
    userIds: [userId],
    orderId,
    data: (recipient) => ({
      name: nameOf(recipient),
      orderId,
      reason,
      refund: refund ? `We refunded ${formatMoney(refund)} to your wallet.` : "",
    }),
  });
};
