import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const outOfStockOnInventoryRejected: EventHandler<"inventory.rejected"> = (event, { em }) =>
  notifyOrderOwner(em, event, "out_of_stock", { reason: event.payload.reason });
