import type { EntityManager } from "@mikro-orm/postgresql";
import { upsertCatalogProduct } from "../catalog/catalog";
import { on } from "./on";

/** Keeps the local catalog copy current; an update older than what is stored (by occurredAt) is dropped. */
export const updateCatalogOnProductUpserted = on("product.upserted", async (event, ctx) => {
  const { productId, sku, name, price, active } = event.payload;
  const applied = await upsertCatalogProduct(ctx.em as EntityManager, { id: productId, sku, name, price, active, updatedAt: new Date(event.occurredAt) });
  if (!applied) ctx.logger.info({ eventId: event.id, productId }, "older product.upserted ignored: the replica holds a newer state");
});
