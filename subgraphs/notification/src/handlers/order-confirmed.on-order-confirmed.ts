import { formatMoney, type EventHandler } from "@commerce/kit";
import { notify, nameOf } from "../notification/notify";

export const orderConfirmedOnOrderConfirmed: EventHandler<"order.confirmed"> = async (event, { em }) => {
  const { orderId, userId, total } = event.payload;
  await notify(em, {
    eventId: event.id,
    template: "order_confirmed",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, total: formatMoney(total) }),
  });
};
