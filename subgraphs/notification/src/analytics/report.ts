import type { EntityManager } from "@mikro-orm/postgresql";

export type SalesGrouping = "DAY" | "PRODUCT" | "CATEGORY";

export interface SalesFigures {
  key: string;
  label: string;
  orders: number;
  units: number;
  revenue: number;
  refunds: number;
}

type Sql = Pick<EntityManager, "execute">;

/**
 * Splits `amount` over `weights` in proportion, in whole minor units that add up to `amount`
 * (largest remainder; ties to the earlier weight).
 */
export function allocate(amount: number, weights: number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) return weights.map((_, index) => (index === 0 ? amount : 0));
  const exact = weights.map((weight) => (amount * weight) / total);
  const shares = exact.map(Math.floor);
  let left = amount - shares.reduce((sum, share) => sum + share, 0);
  const byRemainder = exact.map((value, index) => ({ index, rest: value - Math.floor(value) })).sort((a, b) => b.rest - a.rest || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left <= 0) break;
    shares[index]! += 1;
    left -= 1;
  }
  return shares;
}

const UNCATEGORISED = { key: "none", label: "Uncategorised" };

/**
 * Sales over [from, to) in `currency`: revenue is money captured in the range, orders and units those
 * captures paid for, refunds the money given back in the range (by cancellation or return). By PRODUCT
 * or CATEGORY a capture counts its lines at their price, and a refund is split over the lines it gave
 * back (a return's, or the whole order's) in proportion to their price.
 */
export async function salesReport(em: Sql, range: { from: Date; to: Date; currency: string }, groupBy: SalesGrouping): Promise<SalesFigures[]> {
  const params = [range.from, range.to, range.currency];
  if (groupBy === "DAY") {
    const rows = await em.execute<{ day: string; orders: string; units: string | null; revenue: string; refunds: string }[]>(
      `select to_char(m.at at time zone 'UTC', 'YYYY-MM-DD') as day,
              count(*) filter (where m.kind = 'CAPTURE') as orders,
              sum((select sum(l.quantity) from analytics_order_lines l where l.order_id = m.order_id)) filter (where m.kind = 'CAPTURE') as units,
              coalesce(sum(m.amount) filter (where m.kind = 'CAPTURE'), 0) as revenue,
              coalesce(sum(m.amount) filter (where m.kind = 'REFUND'), 0) as refunds
         from analytics_money m
        where m.at >= ? and m.at < ? and m.currency = ?
        group by 1 order by 1`,
      params,
    );
    return rows.map((row) => ({
      key: row.day,
      label: row.day,
      orders: Number(row.orders),
      units: Number(row.units ?? 0),
      revenue: Number(row.revenue),
      refunds: Number(row.refunds),
    }));
  }

  const byProduct = new Map<string, { orders: Set<string>; units: number; revenue: number; refunds: number }>();
  const figuresOf = (productId: string) => {
    let figures = byProduct.get(productId);
    if (!figures) byProduct.set(productId, (figures = { orders: new Set(), units: 0, revenue: 0, refunds: 0 }));
    return figures;
  };
  const sold = await em.execute<{ order_id: string; product_id: string; quantity: number; unit_amount: string }[]>(
    `select m.order_id, l.product_id, l.quantity, l.unit_amount
       from analytics_money m join analytics_order_lines l on l.order_id = m.order_id
      where m.kind = 'CAPTURE' and m.at >= ? and m.at < ? and m.currency = ?`,
    params,
  );
  for (const line of sold) {
    const figures = figuresOf(line.product_id);
    figures.orders.add(line.order_id);
    figures.units += line.quantity;
    figures.revenue += line.quantity * Number(line.unit_amount);
  }
  const refundLines = await em.execute<{ key: string; amount: string; product_id: string; quantity: number; unit_amount: string }[]>(
    `select m.key, m.amount, l.product_id, l.quantity, l.unit_amount
       from analytics_money m
       join lateral (
         select r.product_id, r.quantity, r.unit_amount from analytics_return_lines r where r.return_id = m.return_id
         union all
         select o.product_id, o.quantity, o.unit_amount from analytics_order_lines o where m.return_id is null and o.order_id = m.order_id
       ) l on true
      where m.kind = 'REFUND' and m.at >= ? and m.at < ? and m.currency = ?
      order by m.key, l.product_id`,
    params,
  );
  const refunds = new Map<string, { amount: number; lines: { productId: string; weight: number }[] }>();
  for (const row of refundLines) {
    let refund = refunds.get(row.key);
    if (!refund) refunds.set(row.key, (refund = { amount: Number(row.amount), lines: [] }));
    refund.lines.push({ productId: row.product_id, weight: row.quantity * Number(row.unit_amount) });
  }
  for (const refund of refunds.values()) {
    const shares = allocate(
      refund.amount,
      refund.lines.map((line) => line.weight),
    );
    refund.lines.forEach((line, index) => (figuresOf(line.productId).refunds += shares[index]!));
  }

  const products = byProduct.size
    ? await em.execute<{ product_id: string; name: string; category_id: string | null; category_name: string | null }[]>(
        `select product_id, name, category_id, category_name from analytics_products where product_id in (${[...byProduct.keys()].map(() => "?").join(", ")})`,
        [...byProduct.keys()],
      )
    : [];
  const productInfo = new Map(products.map((product) => [product.product_id, product]));
  const groups = new Map<string, SalesFigures & { orderIds: Set<string> }>();
  for (const [productId, figures] of byProduct) {
    const info = productInfo.get(productId);
    const group =
      groupBy === "PRODUCT"
        ? { key: productId, label: info?.name ?? productId }
        : info?.category_id
          ? { key: info.category_id, label: info.category_name ?? info.category_id }
          : UNCATEGORISED;
    let row = groups.get(group.key);
    if (!row) groups.set(group.key, (row = { ...group, orders: 0, units: 0, revenue: 0, refunds: 0, orderIds: new Set() }));
    for (const orderId of figures.orders) row.orderIds.add(orderId);
    row.units += figures.units;
    row.revenue += figures.revenue;
    row.refunds += figures.refunds;
  }
  return [...groups.values()]
    .map(({ orderIds, ...row }) => ({ ...row, orders: orderIds.size }))
    .sort((a, b) => b.revenue - a.revenue || a.key.localeCompare(b.key));
}

export interface OrderStatsFigures {
  byStatus: { status: string; count: number }[];
  confirmP50Ms: number | null;
  confirmP95Ms: number | null;
}

/** Orders placed in [from, to): how many are in each status now, and how long placement → CONFIRMED took. */
export async function orderStats(em: Sql, range: { from: Date; to: Date }, statuses: readonly string[]): Promise<OrderStatsFigures> {
  const counts = await em.execute<{ status: string; count: string }[]>(
    `select status, count(*) as count from analytics_orders where placed_at >= ? and placed_at < ? and status is not null group by status`,
    [range.from, range.to],
  );
  const [latency] = await em.execute<{ p50: number | null; p95: number | null }[]>(
    `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.95) within group (order by ms) as p95
       from (select extract(epoch from (confirmed_at - placed_at)) * 1000 as ms
               from analytics_orders where placed_at >= ? and placed_at < ? and confirmed_at is not null) confirmed`,
    [range.from, range.to],
  );
  const count = new Map(counts.map((row) => [row.status, Number(row.count)]));
  return {
    byStatus: statuses.map((status) => ({ status, count: count.get(status) ?? 0 })),
    confirmP50Ms: latency?.p50 === null || latency?.p50 === undefined ? null : Number(latency.p50),
    confirmP95Ms: latency?.p95 === null || latency?.p95 === undefined ? null : Number(latency.p95),
  };
}
