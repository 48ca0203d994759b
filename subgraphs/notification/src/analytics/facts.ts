/**
 * Writes of the sales projection. Every fact has a natural key (order, payment, return, product), so
 * writing one twice, from an event and from the rebuild, changes nothing.
 */
/** An EntityManager, or the rebuild's bare client: only statements with `?` placeholders. */
type Sql = { execute(sql: string, params: unknown[]): Promise<unknown> };

export interface LineFact {
  productId: string;
  quantity: number;
  unitAmount: number;
}

/** Lines of one product merged, so an order or a return holds one row per product. */
function merged(lines: LineFact[]): LineFact[] {
  const byProduct = new Map<string, LineFact>();
  for (const line of lines) {
    const seen = byProduct.get(line.productId);
    if (seen) {
      const quantity = seen.quantity + line.quantity;
      seen.unitAmount = (seen.unitAmount * seen.quantity + line.unitAmount * line.quantity) / quantity;
      seen.quantity = quantity;
    } else byProduct.set(line.productId, { ...line });
  }
  return [...byProduct.values()];
}

export async function recordPlaced(
  em: Sql,
  order: { orderId: string; userId: string; placedAt: Date; total: number; currency: string; lines: LineFact[] },
): Promise<void> {
  // One statement: the order and its lines.
  await em.execute(
    `with o as (
       insert into analytics_orders (order_id, user_id, placed_at, total_amount, currency) values (?, ?, ?, ?, ?)
       on conflict (order_id) do update set user_id = excluded.user_id, total_amount = excluded.total_amount, currency = excluded.currency,
         placed_at = coalesce(analytics_orders.placed_at, excluded.placed_at))
     insert into analytics_order_lines (order_id, product_id, quantity, unit_amount)
     select ?::uuid, l.product_id, l.quantity, l.unit_amount from jsonb_to_recordset(?::jsonb) as l(product_id uuid, quantity int, unit_amount bigint)
     on conflict do nothing`,
    [
      order.orderId,
      order.userId,
      order.placedAt,
      order.total,
      order.currency,
      order.orderId,
      JSON.stringify(
        merged(order.lines).map((line) => ({ product_id: line.productId, quantity: line.quantity, unit_amount: Math.round(line.unitAmount) })),
      ),
    ],
  );
}

/** A status as of `at`; an older change arriving late never overwrites a newer one. */
export async function recordStatus(
  em: Sql,
  change: { orderId: string; userId: string; status: string; previousStatus: string | null; at: Date },
): Promise<void> {
  const placedAt = change.previousStatus === null ? change.at : null;
  const confirmedAt = change.status === "CONFIRMED" ? change.at : null;
  await em.execute(
    `insert into analytics_orders (order_id, user_id, placed_at, status, status_at, confirmed_at) values (?, ?, ?, ?, ?, ?)
     on conflict (order_id) do update set
       placed_at = coalesce(excluded.placed_at, analytics_orders.placed_at),
       confirmed_at = coalesce(analytics_orders.confirmed_at, excluded.confirmed_at),
       status = case when analytics_orders.status_at is null or excluded.status_at >= analytics_orders.status_at then excluded.status else analytics_orders.status end,
       status_at = greatest(analytics_orders.status_at, excluded.status_at)`,
    [change.orderId, change.userId, placedAt, change.status, change.at, confirmedAt],
  );
}

/** Money in (a capture) or back out (a refund), keyed `capture:<paymentId>`, `refund:<paymentId>`, `return:<returnId>`. */
export async function recordMoney(
  em: Sql,
  money: { key: string; kind: "CAPTURE" | "REFUND"; orderId: string; returnId?: string | null; amount: number; currency: string; at: Date },
): Promise<void> {
  await em.execute(
    `insert into analytics_money (key, kind, order_id, return_id, amount, currency, at) values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [money.key, money.kind, money.orderId, money.returnId ?? null, money.amount, money.currency, money.at],
  );
}

export async function recordReturnLines(em: Sql, returnId: string, lines: LineFact[]): Promise<void> {
  for (const line of merged(lines)) {
    await em.execute(`insert into analytics_return_lines (return_id, product_id, quantity, unit_amount) values (?, ?, ?, ?) on conflict do nothing`, [
      returnId,
      line.productId,
      line.quantity,
      Math.round(line.unitAmount),
    ]);
  }
}

/** The product's name and category as of `at`; an older upsert arriving late is ignored. */
export async function recordProduct(
  em: Sql,
  product: { productId: string; name: string; categoryId: string | null; categoryName: string | null; at: Date },
): Promise<void> {
  await em.execute(
    `insert into analytics_products (product_id, name, category_id, category_name, updated_at) values (?, ?, ?, ?, ?)
     on conflict (product_id) do update set name = excluded.name, category_id = excluded.category_id, category_name = excluded.category_name,
       updated_at = excluded.updated_at
     where excluded.updated_at >= analytics_products.updated_at`,
    [product.productId, product.name, product.categoryId, product.categoryName, product.at],
  );
}
