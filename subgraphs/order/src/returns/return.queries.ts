import type { EntityManager } from "@mikro-orm/postgresql";
import { afterDateCursor, countWhenAsked, decodeCursor, pageSize, toConnection, type ConnectionShape, type Context } from "@commerce/kit";
import { ReturnRequest, ReturnStatusChange, type ReturnStatus } from "./return-request.entity";

const cursorOf = (request: ReturnRequest) => ({ key: request.createdAt.toISOString(), id: request.id });

/** One page of returns, newest first, with the count of all matching returns. */
export async function listReturns(
  em: EntityManager,
  filter: { status?: ReturnStatus | null },
  first?: number | null,
  after?: string | null,
): Promise<ConnectionShape<ReturnRequest>> {
  const size = pageSize(first);
  const where = filter.status ? { status: filter.status } : {};
  const cursor = afterDateCursor(decodeCursor(after, "returns"));
  const rows = await em.find(ReturnRequest, { ...where, ...cursor }, { orderBy: { createdAt: "desc", id: "desc" }, limit: size + 1 });
  return toConnection(
    rows,
    size,
    countWhenAsked(() => em.count(ReturnRequest, where)),
    "returns",
    cursorOf,
  );
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const row of rows) {
    const list = grouped.get(key(row));
    if (list) list.push(row);
    else grouped.set(key(row), [row]);
  }
  return grouped;
}

/** Returns of many orders in one query, oldest first. */
export const orderReturnsLoader = (ctx: Context) =>
  ctx.loader<string, ReturnRequest[]>("orderReturns", async (orderIds) => {
    const rows = await ctx.em.find(ReturnRequest, { order: { $in: [...orderIds] } }, { orderBy: { createdAt: "asc", id: "asc" } });
    const grouped = groupBy(rows, (row) => row.orderId);
    return orderIds.map((id) => grouped.get(id) ?? []);
  });

/** Status histories of many returns in one query, oldest first. */
export const returnHistoryLoader = (ctx: Context) =>
  ctx.loader<string, ReturnStatusChange[]>("returnHistory", async (returnIds) => {
    const rows = await ctx.em.find(ReturnStatusChange, { returnRequest: { $in: [...returnIds] } }, { orderBy: { id: "asc" } });
    const grouped = groupBy(rows, (row) => row.returnRequest.id);
    return returnIds.map((id) => grouped.get(id) ?? []);
  });
