import type { EntityManager } from "@mikro-orm/postgresql";
import { internalGraphQL, type Money, type Runtime } from "@commerce/kit";
import { CatalogProduct } from "./catalog-product.entity";

/** A product's catalog state as of `updatedAt`. */
export interface CatalogSnapshot {
  id: string;
  sku: string;
  name: string;
  price: Money;
  active: boolean;
  updatedAt: Date;
}

/**
 * Writes `snapshot` into the replica unless the replica already holds a newer
 * state of that product (events arrive late and twice; a fetch may race an event).
 * One statement, so concurrent writers cannot interleave a read and a write.
 */
export async function upsertCatalogProduct(em: EntityManager, snapshot: CatalogSnapshot): Promise<boolean> {
  const rows = await em.execute<{ id: string }[]>(
    `insert into catalog_products (id, sku, name, price_amount, price_currency, active, updated_at)
     values (?, ?, ?, ?, ?, ?, ?)
     on conflict (id) do update set
       sku = excluded.sku, name = excluded.name, price_amount = excluded.price_amount,
       price_currency = excluded.price_currency, active = excluded.active, updated_at = excluded.updated_at
     where catalog_products.updated_at <= excluded.updated_at
     returning id`,
    [snapshot.id, snapshot.sku, snapshot.name, snapshot.price.amount, snapshot.price.currency, snapshot.active, snapshot.updatedAt],
  );
  return rows.length > 0;
}

const CATALOG_QUERY = `query OrderCatalog($ids: [ID!]!) {
  _catalogProducts(ids: $ids) { id sku name price { amount currency } active }
}`;

/** Raised when products are unknown locally and the product subgraph cannot be asked. */
export class CatalogUnavailableError extends Error {
  override name = "CatalogUnavailableError";
  constructor(message: string, readonly missingIds: string[]) {
    super(message);
  }
}

/**
 * Looks products up in the replica and fetches the missing ones from the
 * product subgraph (then stores them), so a product created a moment ago can
 * be ordered before its `product.upserted` event arrives. Ids the product
 * subgraph does not know are absent from the result.
 *
 * @throws CatalogUnavailableError when some ids are unknown locally and the product subgraph fails.
 */
export async function loadCatalog(runtime: Runtime<unknown>, em: EntityManager, ids: string[]): Promise<Map<string, CatalogProduct>> {
  const local = await em.find(CatalogProduct, { id: { $in: ids } });
  const found = new Map(local.map((product) => [product.id, product]));
  const missing = ids.filter((id) => !found.has(id));
  if (!missing.length) return found;

  const fetchedAt = new Date();
  let fetched: { id: string; sku: string; name: string; price: Money; active: boolean }[];
  try {
    const data = await internalGraphQL<{ _catalogProducts: typeof fetched }>({
      url: runtime.config.subgraphUrls.product,
      secret: runtime.config.internalSecret,
      as: { kind: "service", service: "order" },
      query: CATALOG_QUERY,
      variables: { ids: missing },
    });
    fetched = data._catalogProducts;
  } catch (error) {
    runtime.logger.warn({ err: error, productIds: missing }, "could not fetch unknown products from the product subgraph");
    throw new CatalogUnavailableError(`product subgraph unreachable: ${(error as Error).message}`, missing);
  }
  for (const product of fetched) {
    if (!missing.includes(product.id)) continue;
    await upsertCatalogProduct(em, { ...product, updatedAt: fetchedAt });
  }
  const stored = await em.find(CatalogProduct, { id: { $in: fetched.map((p) => p.id) } }, { refresh: true });
  for (const product of stored) found.set(product.id, product);
  return found;
}
