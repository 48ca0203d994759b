import {
  BadUserInputError,
  countWhenAsked,
  type Context,
  decodeCursor,
  toConnection,
  type ConnectionShape,
  type CursorKey,
  isUuid,
} from "@commerce/kit";
import { Product, SEARCH_DOCUMENT } from "./product.entity";
import { withAvailable } from "./product.loaders";
import { ProductSort, type ProductFilter } from "./product.inputs";

/** `%`, `_` and `\` are wildcards in ILIKE: a customer searching "50%" means the text. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/** The distinct words of a search, at most {@link MAX_SEARCH_WORDS} (the input is capped at 200 characters). */
function searchWords(search: string | null | undefined): string[] {
  const words = [...new Set((search ?? "").toLowerCase().split(/\s+/).filter(Boolean))];
  return words.slice(0, MAX_SEARCH_WORDS);
}

const MAX_SEARCH_WORDS = 10;

/** Per sort: the column, its direction, the cursor key it stores, and that key read from a product. */
const SORTS: Record<ProductSort, { column: string; property: keyof Product; order: "asc" | "desc"; key: CursorKey; keyOf: (p: Product) => string }> =
  {
    [ProductSort.NAME]: { column: "name", property: "name", order: "asc", key: "text", keyOf: (p) => p.name },
    [ProductSort.PRICE_ASC]: { column: "price_amount", property: "priceAmount", order: "asc", key: "integer", keyOf: (p) => String(p.priceAmount) },
    [ProductSort.PRICE_DESC]: { column: "price_amount", property: "priceAmount", order: "desc", key: "integer", keyOf: (p) => String(p.priceAmount) },
    [ProductSort.NEWEST]: { column: "created_at", property: "createdAt", order: "desc", key: "timestamp", keyOf: (p) => p.createdAt.toISOString() },
  };

/** A cursor names its sort too: resuming a price-ordered page in name order would skip products. */
const listOf = (sort: ProductSort) => (sort === ProductSort.NAME ? "products" : `products:${sort}`);

/**
 * One page of products in `sort` order (ties by id), with the total matching count.
 * Search is a case-insensitive substring match of each of its words against SKU,
 * name and description, answered by the pg_trgm GIN index on that same expression
 * (no full scan for words of three or more characters). One SQL statement whatever the page size,
 * available stock included; a second counts the matches when `totalCount` is asked for.
 */
export async function searchProducts(
  ctx: Context,
  options: {
    filter: ProductFilter | null | undefined;
    sort?: ProductSort | null;
    size: number;
    after: string | null | undefined;
    includeInactive: boolean;
  },
): Promise<ConnectionShape<Product>> {
  const { filter, size, includeInactive } = options;
  const sort = SORTS[options.sort ?? ProductSort.NAME];
  const list = listOf(options.sort ?? ProductSort.NAME);
  const cursor = decodeCursor(options.after, list, sort.key);
  const qb = ctx.em.createQueryBuilder(Product, "p");
  if (!includeInactive) qb.andWhere({ active: true });
  // Every word must appear, in any order and anywhere in the document: "kettle copper" finds the
  // "Copper Kettle". Each word is its own ILIKE on the indexed expression (Postgres ANDs the index scans).
  const document = SEARCH_DOCUMENT.replace(/\b(sku|name|description)\b/g, "p.$1");
  for (const word of searchWords(filter?.search)) qb.andWhere(`${document} ilike ?`, [`%${escapeLike(word)}%`]);
  if (filter?.categoryId) {
    if (!isUuid(filter.categoryId)) throw new BadUserInputError("categoryId is not a category id.", "filter.categoryId");
    // The category and all its descendants.
    qb.andWhere(
      `p.category_id in (with recursive tree as (select id from categories where id = ? union all select c.id from categories c join tree on c.parent_id = tree.id) select id from tree)`,
      [filter.categoryId],
    );
  }
  if (filter?.inStock !== undefined && filter.inStock !== null) {
    qb.andWhere(`(select coalesce(sum(s.on_hand - s.reserved), 0) from stock_levels s where s.product_id = p.id) ${filter.inStock ? ">" : "<="} 0`);
  }
  if (filter?.minPrice != null && filter.maxPrice != null && filter.minPrice > filter.maxPrice) {
    throw new BadUserInputError("minPrice must not be above maxPrice.", "filter.minPrice");
  }
  if (filter?.minPrice !== undefined && filter.minPrice !== null) qb.andWhere("p.price_amount >= ?", [filter.minPrice]);
  if (filter?.maxPrice !== undefined && filter.maxPrice !== null) qb.andWhere("p.price_amount <= ?", [filter.maxPrice]);
  const counted = qb.clone();
  const totalCount = countWhenAsked(() => counted.getCount());
  if (cursor) {
    const key = sort.key === "integer" ? Number(cursor.key) : sort.key === "timestamp" ? new Date(cursor.key) : cursor.key;
    qb.andWhere(`(p.${sort.column}, p.id) ${sort.order === "asc" ? ">" : "<"} (?, ?)`, [key, cursor.id]);
  }
  const rows = await withAvailable(ctx, qb.orderBy([{ [sort.property]: sort.order }, { id: sort.order }]).limit(size + 1));
  return toConnection(rows, size, totalCount, list, (product) => ({ key: sort.keyOf(product), id: product.id }));
}
