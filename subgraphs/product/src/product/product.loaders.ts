import { raw, type QueryBuilder } from "@mikro-orm/postgresql";
import { isUuid } from "@commerce/kit";
import type { Context } from "@commerce/kit";
import { Category } from "../category/category.entity";
import { StockLevel } from "../stock/stock-level.entity";
import { Warehouse } from "../warehouse/warehouse.entity";
import { Product } from "./product.entity";

/**
 * Per-request DataLoaders: however many products a query returns, each of
 * these costs one SQL statement per batch.
 */

/** Products by id, deleted ones included (old orders still show them); callers filter for customers. */
export const productById = (ctx: Context) =>
  ctx.loader<string, Product | null>("productById", async (ids) => {
    const valid = ids.filter(isUuid);
    const products = valid.length ? await withAvailable(ctx, ctx.em.createQueryBuilder(Product, "p").where({ id: { $in: valid } })) : [];
    const byId = new Map(products.map((product) => [product.id, product]));
    return ids.map((id) => byId.get(id) ?? null);
  });

export const categoryById = (ctx: Context) =>
  ctx.loader<string, Category | null>("categoryById", async (ids) => {
    const categories = await ctx.em.find(Category, { id: { $in: [...ids] } });
    const byId = new Map(categories.map((category) => [category.id, category]));
    return ids.map((id) => byId.get(id) ?? null);
  });

export const warehouseById = (ctx: Context) =>
  ctx.loader<string, Warehouse | null>("warehouseById", async (ids) => {
    const warehouses = await ctx.em.find(Warehouse, { id: { $in: [...ids] } });
    const byId = new Map(warehouses.map((warehouse) => [warehouse.id, warehouse]));
    return ids.map((id) => byId.get(id) ?? null);
  });

/** The largest GraphQL Int. */
const MAX_INT = 2_147_483_647;

/**
 * Σ(onHand − reserved) over warehouses, summed in Postgres. `adjustStock` keeps
 * a product's total on hand within MAX_ON_HAND, far below a GraphQL Int; the
 * clamp guards against totals it did not check (rows written before that rule
 * or by hand), which would otherwise fail the Int! field and with it a whole
 * catalog page.
 */
export const availableByProduct = (ctx: Context) =>
  ctx.loader<string, number>("availableByProduct", async (ids) => {
    const rows: { product_id: string; available: string | number }[] = await ctx.em.execute(
      `select product_id, sum(on_hand - reserved) as available from stock_levels where product_id in (${ids.map(() => "?").join(", ")}) group by product_id`,
      [...ids],
    );
    const byId = new Map(rows.map((row) => [row.product_id, Math.min(Number(row.available), MAX_INT)]));
    return ids.map((id) => byId.get(id) ?? 0);
  });

/**
 * Runs a query of products aliased `p` with each one's available stock in the same statement, priming
 * {@link availableByProduct}: a page of products and their `available` cost one statement, not two.
 */
export async function withAvailable(ctx: Context, qb: QueryBuilder<Product>): Promise<Product[]> {
  const rows: (Record<string, unknown> & { available_now: string | number })[] = await qb
    .select(["p.*", raw("(select coalesce(sum(s.on_hand - s.reserved), 0) from stock_levels s where s.product_id = p.id) as available_now")])
    .execute("all", false);
  const available = availableByProduct(ctx);
  return rows.map(({ available_now, ...row }) => {
    const product = ctx.em.map(Product, row);
    available.prime(product.id, Math.min(Number(available_now), MAX_INT));
    return product;
  });
}

/** Stock rows per product, in warehouse id order (stable between calls). */
export const stockByProduct = (ctx: Context) =>
  ctx.loader<string, StockLevel[]>("stockByProduct", async (ids) => {
    const levels = await ctx.em.find(StockLevel, { product: { $in: [...ids] } }, { orderBy: { product: "asc", warehouse: "asc" } });
    const byProduct = new Map<string, StockLevel[]>();
    for (const level of levels) byProduct.set(level.product.id, [...(byProduct.get(level.product.id) ?? []), level]);
    return ids.map((id) => byProduct.get(id) ?? []);
  });
