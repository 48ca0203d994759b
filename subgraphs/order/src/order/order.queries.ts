import type { EntityManager } from "@mikro-orm/postgresql";
import { afterDateCursor, countWhenAsked, decodeCursor, pageSize, toConnection, type ConnectionShape, type Context, isUuid } from "@commerce/kit";
import { Order, type OrderStatus } from "./order.entity";
import { OrderItem } from "./order-item.entity";
import { OrderStatusChange } from "./order-status-change.entity";

export interface OrderListFilter {
  userId?: string;
  status?: OrderStatus | null;
  search?: string | null;
  createdFrom?: Date | null;
  createdTo?: Date | null;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
const cursorOf = (order: Order) => ({ key: order.createdAt.toISOString(), id: order.id });

function whereOf(filter: OrderListFilter): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  if (filter.userId) where.userId = filter.userId;
  if (filter.status) where.status = filter.status;
  // Served by the trigram index on name (orders_name_trgm_index), not a scan.
  if (filter.search?.trim()) where.name = { $ilike: `%${escapeLike(filter.search.trim())}%` };
  const createdAt: Record<string, Date> = {};
  if (filter.createdFrom) createdAt.$gte = filter.createdFrom;
  if (filter.createdTo) createdAt.$lt = filter.createdTo;
  if (Object.keys(createdAt).length) where.createdAt = createdAt;
  return where;
}

/** One page of orders, newest first, with the count of all matching orders. */
export async function listOrders(
  em: EntityManager,
  filter: OrderListFilter,
  first?: number | null,
  after?: string | null,
): Promise<ConnectionShape<Order>> {
  const size = pageSize(first);
  const where = whereOf(filter);
  const cursor = afterDateCursor(decodeCursor(after, "orders"));
  const rows = await em.find(Order, { ...where, ...cursor }, { orderBy: { createdAt: "desc", id: "desc" }, limit: size + 1 });
  return toConnection(
    rows,
    size,
    countWhenAsked(() => em.count(Order, where)),
    "orders",
    cursorOf,
  );
}

/**
 * The first page of orders of many users at once (`User.orders` for a list of
 * users): one windowed query and one grouped count, however many users.
 */
export function userOrdersLoader(ctx: Context, first?: number | null, after?: string | null) {
  const size = pageSize(first);
  const cursor = decodeCursor(after, "orders");
  return ctx.loader<string, ConnectionShape<Order>>(`userOrders:${size}:${after ?? ""}`, async (userIds) => {
    const ids = [...userIds];
    const valid = ids.filter(isUuid);
    const at = cursor ? new Date(cursor.key) : null;
    if (at && Number.isNaN(at.getTime())) return ids.map(() => new Error("after is not a valid cursor."));
    const knex = ctx.em.getKnex();
    const page = knex("orders")
      .select("*", knex.raw("row_number() over (partition by user_id order by created_at desc, id desc) as position"))
      .whereIn("user_id", valid)
      .modify((query) => {
        if (cursor) query.whereRaw("(created_at, id) < (?, ?)", [at, cursor.id]);
      });
    const [rows, counts] = await Promise.all([
      ctx.em.execute<Record<string, unknown>[]>(
        knex
          .select("*")
          .from(page.as("page"))
          .where("position", "<=", size + 1)
          .orderBy("position"),
      ),
      ctx.em.execute<{ user_id: string; total: string }[]>(
        knex("orders").select("user_id").count("* as total").whereIn("user_id", valid).groupBy("user_id"),
      ),
    ]);
    const byUser = new Map<string, Order[]>(ids.map((id) => [id, []]));
    for (const row of rows) {
      delete row.position;
      const order = ctx.em.map(Order, row);
      byUser.get(order.userId)?.push(order);
    }
    const totals = new Map(counts.map((row) => [row.user_id, Number(row.total)]));
    return ids.map((id) => toConnection(byUser.get(id) ?? [], size, totals.get(id) ?? 0, "orders", cursorOf));
  });
}

/** Orders by id, batched per request (reference resolution, `order(id)`). */
export const orderByIdLoader = (ctx: Context) =>
  ctx.loader<string, Order | null>("orderById", async (ids) => {
    const orders = await ctx.em.find(Order, { id: { $in: ids.filter(isUuid) } });
    const byId = new Map(orders.map((order) => [order.id, order]));
    return ids.map((id) => byId.get(id) ?? null);
  });

function groupByOrder<T extends { order: { id: string } }>(rows: T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const row of rows) {
    const list = grouped.get(row.order.id);
    if (list) list.push(row);
    else grouped.set(row.order.id, [row]);
  }
  return grouped;
}

/** Items of many orders in one query, in placement order. */
export const itemsLoader = (ctx: Context) =>
  ctx.loader<string, OrderItem[]>("orderItems", async (orderIds) => {
    const items = await ctx.em.find(OrderItem, { order: { $in: [...orderIds] } }, { orderBy: { line: "asc" } });
    const grouped = groupByOrder(items);
    return orderIds.map((id) => grouped.get(id) ?? []);
  });

/** Status histories of many orders in one query, oldest first. */
export const historyLoader = (ctx: Context) =>
  ctx.loader<string, OrderStatusChange[]>("orderHistory", async (orderIds) => {
    const changes = await ctx.em.find(OrderStatusChange, { order: { $in: [...orderIds] } }, { orderBy: { id: "asc" } });
    const grouped = groupByOrder(changes);
    return orderIds.map((id) => grouped.get(id) ?? []);
  });
