import { formatMoney, type EventHandler } from "@commerce/kit";
import { notify, nameOf } from "../notification/notify";

export const paymentFailedOnPaymentFailed: EventHandler<"payment.failed"> = async (event, { em }) => {
  const { orderId, userId, amount, reason } = event.payload;
  await notify(em, {
    eventId: event.id,
    template: "payment_failed",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, amount: formatMoney(amount), reason }),
  });
};
