import { advanceOrder, on } from "./on";

/** Reservation refused: PENDING → OUT_OF_STOCK, with the short products named in failureReason. */
export const markOutOfStockOnInventoryRejected = on("inventory.rejected", (event, ctx) => {
  const { reason, shortages } = event.payload;
  const detail = shortages.map((s) => `product ${s.productId}: requested ${s.requested}, available ${s.available}`).join("; ");
  const failureReason = detail ? `${reason} (${detail})` : reason;
  return advanceOrder(event, event.payload.orderId, [{ type: "stock_rejected", reason: failureReason }], ctx);
});
