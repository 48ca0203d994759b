import { isUuid, type EventHandler } from "@commerce/kit";
import { CatalogProduct } from "../catalog/catalog-product.entity";
import { advanceOrder } from "./advance-order";

/**
 * Reservation refused: PENDING → OUT_OF_STOCK, with the short products named in failureReason, by the
 * name and SKU the customer saw (the id only for a product this service has never heard of).
 */
export const markOutOfStockOnInventoryRejected: EventHandler<"inventory.rejected"> = async (event, ctx) => {
  const { reason, shortages } = event.payload;
  const ids = shortages.map((s) => s.productId).filter((id) => isUuid(id));
  const products = ids.length ? await ctx.em.find(CatalogProduct, { id: { $in: ids } }) : [];
  const names = new Map(products.map((product) => [product.id, `${product.name} (${product.sku})`]));
  const detail = shortages
    .map((s) => `${names.get(s.productId) ?? `product ${s.productId}`}: requested ${s.requested}, available ${s.available}`)
    .join("; ");
  const failureReason = detail ? `${reason} (${detail})` : reason;
  return advanceOrder(event, event.payload.orderId, [{ type: "stock_rejected", reason: failureReason }], ctx);
};
