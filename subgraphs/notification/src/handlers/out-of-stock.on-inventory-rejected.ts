import type { EventHandler } from "@commerce/kit";
import { notify, nameOf } from "../notification/notify";

export const outOfStockOnInventoryRejected: EventHandler<"inventory.rejected"> = async (event, { em }) => {
  const { orderId, userId, reason } = event.payload;
  await notify(em, {
    eventId: event.id,
    template: "out_of_stock",
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, reason }),
  });
};
