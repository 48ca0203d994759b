import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventEnvelope } from "@commerce/schema";
import { createEvent } from "@commerce/streams";
import { Product } from "../product/product.entity";
import { LowStockMarker } from "./low-stock-marker.entity";
import type { StockLevel } from "./stock-level.entity";

/**
 * After a stock change: emits `inventory.low_stock` for every product whose
 * availability just fell to or below its threshold, and re-arms the alert of
 * products back above it. `levels` must be ALL stock rows of these products,
 * locked by `lockStock` in this transaction (so availability is exact); the
 * markers are locked too, in product order, after the stock rows. `known`:
 * products the caller already loaded in this transaction (not loaded again).
 */
export async function checkLowStock(
  tx: EntityManager,
  productIds: string[],
  levels: StockLevel[],
  emit: (event: EventEnvelope) => void,
  meta: { correlationId?: string; causation?: EventEnvelope } = {},
  known: readonly Product[] = [],
): Promise<void> {
  const ids = [...new Set(productIds)].sort();
  if (!ids.length) return;
  await tx.execute(
    `insert into low_stock_markers (product_id, low, changed_at) values ${ids.map(() => "(?, true, now())").join(", ")} on conflict (product_id) do nothing`,
    ids,
  );
  const markers = await tx.find(
    LowStockMarker,
    { productId: { $in: ids } },
    { orderBy: { productId: "asc" }, lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
  );
  const products = new Map(known.filter((product) => ids.includes(product.id)).map((product) => [product.id, product]));
  const missing = ids.filter((id) => !products.has(id));
  if (missing.length) for (const product of await tx.find(Product, { id: { $in: missing } })) products.set(product.id, product);
  for (const marker of markers) {
    const product = products.get(marker.productId);
    if (!product) continue;
    const available = levels.filter((level) => level.product.id === product.id).reduce((sum, level) => sum + level.available, 0);
    if (marker.observe(available, product.lowStockThreshold)) {
      emit(
        createEvent(
          "inventory.low_stock",
          { productId: product.id, sku: product.sku, name: product.name, available, threshold: product.lowStockThreshold },
          { correlationId: meta.correlationId ?? product.id, causation: meta.causation },
        ),
      );
    }
  }
}
