import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { notify, nameOf } from "../notification/notify";

export const outOfStockOnInventoryRejected: Handler<EventOf<"inventory.rejected">> = async (event, { em }) => {
  const { orderId, userId, reason } = event.payload;
  await notify(em, {
    eventId: event.id,
    template: "out_of_stock",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, reason }),
  });
};
