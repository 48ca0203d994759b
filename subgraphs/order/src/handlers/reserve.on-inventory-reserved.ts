import { advanceOrder, on } from "./on";

/** Stock is held for the whole order: PENDING → STOCK_RESERVED. */
export const markReservedOnInventoryReserved = on("inventory.reserved", (event, ctx) =>
  advanceOrder(event, event.payload.orderId, [{ type: "stock_reserved" }], ctx),
);
