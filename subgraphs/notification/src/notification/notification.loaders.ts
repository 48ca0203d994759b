import type { EntityManager } from "@mikro-orm/postgresql";
import { toConnection, type Context, type ConnectionShape, type Cursor } from "@commerce/kit";
import { Notification } from "./notification.entity";

/** The notifications about each order, oldest first: one statement for any number of orders. */
export const notificationsByOrderId = (ctx: Context) =>
  ctx.loader<string, Notification[]>("notificationsByOrderId", async (orderIds) => {
    const rows = await ctx.em.find(Notification, { orderId: { $in: [...orderIds] } }, { orderBy: { createdAt: "asc", id: "asc" } });
    return orderIds.map((orderId) => rows.filter((row) => row.orderId === orderId));
  });

interface PageKey {
  userId: string;
  size: number;
  after: Cursor | null;
}

/**
 * A page of each user's notifications, newest first. Users asked for with the
 * same page arguments share two statements (a windowed page and the counts),
 * so a list of users does not cost a query per user.
 */
export const notificationPages = (ctx: Context) =>
  ctx.loader<PageKey, ConnectionShape<Notification>>("notificationPages", async (keys) => {
    const groups = new Map<string, PageKey[]>();
    for (const key of keys) {
      const group = `${key.size}|${key.after?.key ?? ""}|${key.after?.id ?? ""}`;
      groups.set(group, [...(groups.get(group) ?? []), key]);
    }
    const pages = new Map<PageKey, ConnectionShape<Notification>>();
    for (const group of groups.values()) {
      const found = await pageOf(ctx.em, [...new Set(group.map((k) => k.userId))], group[0].size, group[0].after);
      for (const key of group) pages.set(key, found.get(key.userId)!);
    }
    return keys.map((key) => pages.get(key)!);
  });

async function pageOf(em: EntityManager, userIds: string[], size: number, after: Cursor | null): Promise<Map<string, ConnectionShape<Notification>>> {
  const afterAt = after ? new Date(after.key) : null;
  const rows = await em.execute<Record<string, unknown>[]>(
    `select * from (
       select n.*, row_number() over (partition by n.user_id order by n.created_at desc, n.id desc) as position
       from notifications n
       where n.user_id in (${userIds.map(() => "?").join(", ")})
         ${afterAt ? "and (n.created_at, n.id) < (?, ?::uuid)" : ""}
     ) page where position <= ? order by user_id, position`,
    [...userIds, ...(afterAt ? [afterAt, after!.id] : []), size + 1],
  );
  const counts = await em.execute<{ user_id: string; total: string }[]>(
    `select user_id, count(*) as total from notifications where user_id in (${userIds.map(() => "?").join(", ")}) group by user_id`,
    userIds,
  );
  const totals = new Map(counts.map((row) => [row.user_id, Number(row.total)]));
  const byUser = new Map<string, Notification[]>(userIds.map((id) => [id, []]));
  for (const row of rows) {
    delete row.position;
    const notification = em.map(Notification, row);
    byUser.get(notification.userId)!.push(notification);
  }
  return new Map(
    userIds.map((id) => [
      id,
      toConnection(byUser.get(id)!, size, totals.get(id) ?? 0, "notifications", (n) => ({ key: n.createdAt.toISOString(), id: n.id })),
    ]),
  );
}
