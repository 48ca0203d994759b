import type { EntityManager } from "@mikro-orm/postgresql";
import { catalogRevisions, internalGraphQL, type Money, type Runtime } from "@commerce/kit";
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
  constructor(
    message: string,
    readonly missingIds: string[],
  ) {
    super(message);
  }
}

/** What placing an order needs of a product: the catalog's current state of it. */
export interface CatalogEntry {
  id: string;
  sku: string;
  name: string;
  price: Money;
  active: boolean;
}

/** How long a placement waits for the product subgraph before it prices from the replica. */
const CATALOG_TIMEOUT_MS = 2_000;

/**
 * The catalog's current state of `ids`, for pricing an order: the product subgraph's answer (the price
 * now, written through to the replica), else the replica's; ids neither knows are absent
 * (docs/SERVICES.md, "Order pricing").
 * @throws CatalogUnavailableError when the product subgraph fails and some ids are not in the replica.
 */
export async function loadCatalog(runtime: Runtime<unknown>, em: EntityManager, ids: string[]): Promise<Map<string, CatalogEntry>> {
  const local = await em.find(CatalogProduct, { id: { $in: ids } });
  const entries = new Map<string, CatalogEntry>(local.map((product) => [product.id, entryOf(product)]));
  if (!ids.length) return entries;
  // The replica is current for a product once it has applied the product's latest change (its revision).
  const revisions = await catalogRevisions(runtime.redis, runtime.config.streamPrefix, ids);
  const revisionOf = new Map(ids.map((id, i) => [id, revisions?.[i] ?? null]));
  const updatedAt = new Map(local.map((product) => [product.id, product.updatedAt.getTime()]));
  if (ids.every((id) => revisionOf.get(id) !== null && (updatedAt.get(id) ?? -Infinity) >= revisionOf.get(id)!)) return entries;

  const fetchedAt = new Date();
  let fetched: CatalogEntry[];
  try {
    const data = await internalGraphQL<{ _catalogProducts: CatalogEntry[] }>({
      service: "product",
      url: runtime.config.subgraphUrls.product,
      secret: runtime.config.internalSecret,
      as: { kind: "service", service: "order" },
      query: CATALOG_QUERY,
      variables: { ids },
      timeoutMs: CATALOG_TIMEOUT_MS,
    });
    fetched = data._catalogProducts;
  } catch (error) {
    const missing = ids.filter((id) => !entries.has(id));
    if (!missing.length) {
      runtime.logger.warn({ err: error, productIds: ids }, "product subgraph unreachable: pricing from the catalog replica");
      return entries;
    }
    runtime.logger.warn({ err: error, productIds: missing }, "could not fetch unknown products from the product subgraph");
    throw new CatalogUnavailableError(`product subgraph unreachable: ${(error as Error).message}`, missing);
  }
  for (const product of fetched) {
    if (!ids.includes(product.id)) continue;
    const known = entries.get(product.id);
    // Dated below the product's revision: only its event, dated by the product service's clock, makes the row current.
    const revision = revisionOf.get(product.id);
    const dated = revision != null && revision - 1 < fetchedAt.getTime() ? new Date(revision - 1) : fetchedAt;
    if (!known || !sameEntry(known, product)) await upsertCatalogProduct(em, { ...product, updatedAt: dated });
    entries.set(product.id, { id: product.id, sku: product.sku, name: product.name, price: product.price, active: product.active });
  }
  return entries;
}

function entryOf(product: CatalogProduct): CatalogEntry {
  return { id: product.id, sku: product.sku, name: product.name, price: product.price, active: product.active };
}

function sameEntry(a: CatalogEntry, b: CatalogEntry): boolean {
  return a.sku === b.sku && a.name === b.name && a.active === b.active && a.price.amount === b.price.amount && a.price.currency === b.price.currency;
}
