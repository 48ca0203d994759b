import type { EventHandler } from "@commerce/kit";
import { advanceOrder } from "./advance-order";

/** Stock is held for the whole order: PENDING → STOCK_RESERVED. */
export const markReservedOnInventoryReserved: EventHandler<"inventory.reserved"> = (event, ctx) =>
  advanceOrder(event, event.payload.orderId, [{ type: "stock_reserved" }], ctx);
