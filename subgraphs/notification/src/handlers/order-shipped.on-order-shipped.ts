import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { notify, nameOf } from "../notification/notify";

export const orderShippedOnOrderShipped: Handler<EventOf<"order.shipped">> = async (event, { em }) => {
  const { orderId, userId } = event.payload;
  await notify(em, {
    eventId: event.id,
    template: "order_shipped",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId }),
  });
};
