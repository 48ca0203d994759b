import type { EventHandler } from "@commerce/kit";
import { upsertCatalogProduct } from "../catalog/catalog";

/** Keeps the local catalog copy current; an update older than what is stored (by occurredAt) is dropped. */
export const updateCatalogOnProductUpserted: EventHandler<"product.upserted"> = async (event, ctx) => {
  const { productId, sku, name, price, active } = event.payload;
  const applied = await upsertCatalogProduct(ctx.em, { id: productId, sku, name, price, active, updatedAt: new Date(event.occurredAt) });
  if (!applied) ctx.logger.info({ eventId: event.id, productId }, "older product.upserted ignored: the replica holds a newer state");
};
