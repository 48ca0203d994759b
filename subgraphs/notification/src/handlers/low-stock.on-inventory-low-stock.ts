import type { EventHandler } from "@commerce/kit";
import { notify, nameOf } from "../notification/notify";
import { Recipient } from "../recipient/recipient.entity";

/** Alerts every STAFF user (from the replica) that a product runs low. */
export const lowStockOnInventoryLowStock: EventHandler<"inventory.low_stock"> = async (event, { em, logger }) => {
  const { sku, name, available, threshold } = event.payload;
  const staff = await em.find(Recipient, { role: "STAFF" }, { fields: ["userId"] });
  const created = await notify(em, {
    eventId: event.id,
    template: "low_stock",
    userIds: staff.map((s) => s.userId),
    data: (recipient) => ({ name: nameOf(recipient), sku, productName: name, available, threshold }),
  });
  logger.debug({ sku, staff: staff.length, created }, "low-stock alerts created");
};
