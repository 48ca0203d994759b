import { Client } from "pg";
import { recordMoney, recordPlaced, recordProduct, recordReturnLines, recordStatus, type LineFact } from "./facts";

/** Where the rebuild reads: the owning services' databases, and the notification one it writes. */
export interface RebuildSources {
  order: string;
  payment: string;
  product: string;
  notification: string;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** The facts' `?` placeholders on a bare pg client. */
const sqlOn = (client: Client) => ({
  execute: async (sql: string, params: unknown[] = []) => {
    let n = 0;
    return (
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows;
  },
});

/**
 * Rebuilds the sales projection from the owning services' databases, in one transaction. The
 * projection's tables are locked before the sources are read, so an event the `analytics` group
 * applied earlier is in the sources too, and one it applies later lands on the rebuilt facts (natural keys:
 * a second write changes nothing).
 */
export async function rebuildAnalytics(sources: RebuildSources): Promise<{ orders: number; money: number; products: number }> {
  const target = await connect(sources.notification);
  const [order, payment, product] = await Promise.all([connect(sources.order), connect(sources.payment), connect(sources.product)]);
  try {
    await target.query("begin");
    await target.query(
      "lock table analytics_orders, analytics_order_lines, analytics_return_lines, analytics_money, analytics_products in access exclusive mode",
    );
    await target.query("truncate analytics_orders, analytics_order_lines, analytics_return_lines, analytics_money, analytics_products");
    const sql = sqlOn(target);

    const orders = (
      await order.query<{ id: string; user_id: string; created_at: Date; total_amount: number; total_currency: string }>(
        `select id, user_id, created_at, total_amount, total_currency from orders`,
      )
    ).rows;
    const lines = new Map<string, LineFact[]>();
    for (const row of (
      await order.query<{ order_id: string; product_id: string; quantity: number; unit_price_amount: number }>(
        `select order_id, product_id, quantity, unit_price_amount from order_items order by order_id, line`,
      )
    ).rows) {
      const list = lines.get(row.order_id) ?? [];
      list.push({ productId: row.product_id, quantity: row.quantity, unitAmount: row.unit_price_amount });
      lines.set(row.order_id, list);
    }
    const users = new Map(orders.map((row) => [row.id, row.user_id]));
    for (const row of orders) {
      await recordPlaced(sql, {
        orderId: row.id,
        userId: row.user_id,
        placedAt: row.created_at,
        total: row.total_amount,
        currency: row.total_currency,
        lines: lines.get(row.id) ?? [],
      });
    }
    for (const change of (
      await order.query<{ order_id: string; status: string; previous_status: string | null; at: Date }>(
        `select order_id, status, previous_status, at from order_status_changes order by id`,
      )
    ).rows) {
      await recordStatus(sql, {
        orderId: change.order_id,
        userId: users.get(change.order_id)!,
        status: change.status,
        previousStatus: change.previous_status,
        at: change.at,
      });
    }
    for (const row of (
      await order.query<{ id: string; lines: { productId: string; quantity: number; unitPriceAmount: number }[] }>(
        `select id, lines from return_requests where status in ('RECEIVED', 'REFUNDED')`,
      )
    ).rows) {
      await recordReturnLines(
        sql,
        row.id,
        row.lines.map((line) => ({ productId: line.productId, quantity: line.quantity, unitAmount: line.unitPriceAmount })),
      );
    }

    const payments = (
      await payment.query<{
        id: string;
        order_id: string;
        amount_minor: number;
        currency: string;
        status: string;
        created_at: Date;
        refunded_at: Date | null;
      }>(`select id, order_id, amount_minor, currency, status, created_at, refunded_at from payments where status in ('CAPTURED', 'REFUNDED')`)
    ).rows;
    const moneyOf = (row: { order_id: string; amount_minor: number; currency: string }) => ({
      orderId: row.order_id,
      amount: row.amount_minor,
      currency: row.currency,
    });
    for (const row of payments) {
      await recordMoney(sql, { key: `capture:${row.id}`, kind: "CAPTURE", at: row.created_at, ...moneyOf(row) });
      if (row.status === "REFUNDED") {
        await recordMoney(sql, { key: `refund:${row.id}`, kind: "REFUND", at: row.refunded_at ?? row.created_at, ...moneyOf(row) });
      }
    }
    const returnRefunds = (
      await payment.query<{ return_id: string; order_id: string; amount_minor: number; currency: string; created_at: Date }>(
        `select return_id, order_id, amount_minor, currency, created_at from return_refunds where amount_minor > 0`,
      )
    ).rows;
    for (const row of returnRefunds) {
      await recordMoney(sql, { key: `return:${row.return_id}`, kind: "REFUND", returnId: row.return_id, at: row.created_at, ...moneyOf(row) });
    }

    const products = (
      await product.query<{ id: string; name: string; updated_at: Date; category_id: string | null; category_name: string | null }>(
        `select p.id, p.name, p.updated_at, c.id as category_id, c.name as category_name from products p left join categories c on c.id = p.category_id`,
      )
    ).rows;
    for (const row of products) {
      await recordProduct(sql, {
        productId: row.id,
        name: row.name,
        categoryId: row.category_id,
        categoryName: row.category_name,
        at: row.updated_at,
      });
    }
    await target.query("commit");
    return { orders: orders.length, money: payments.length + returnRefunds.length, products: products.length };
  } catch (error) {
    await target.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    await Promise.all([target, order, payment, product].map((client) => client.end().catch(() => undefined)));
  }
}
