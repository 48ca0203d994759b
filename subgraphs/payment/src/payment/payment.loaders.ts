import { isUuid, type Context } from "@commerce/kit";
import { Invoice } from "./invoice.entity";
import { Payment } from "./payment.entity";

// One SQL statement per kind per request, however many orders or payments a query touches.

/** `Payment` by id (federation references). A malformed id names no payment; in the query it would fail the whole batch. */
export const paymentById = (ctx: Context) =>
  ctx.loader<string, Payment | null>("paymentById", async (ids) => {
    const valid = ids.filter(isUuid);
    const rows = valid.length ? await ctx.em.find(Payment, { id: { $in: valid } }) : [];
    return byKey(ids, rows, (row) => row.id);
  });

/** The payment of each order, or null before it is charged. */
export const paymentByOrderId = (ctx: Context) =>
  ctx.loader<string, Payment | null>("paymentByOrderId", async (orderIds) => {
    const rows = await ctx.em.find(Payment, { orderId: { $in: [...orderIds] } });
    return byKey(orderIds, rows, (row) => row.orderId);
  });

/** The invoice of each payment, or null (failed payments have none). */
export const invoiceByPaymentId = (ctx: Context) =>
  ctx.loader<string, Invoice | null>("invoiceByPaymentId", async (paymentIds) => {
    const rows = await ctx.em.find(Invoice, { payment: { $in: [...paymentIds] } });
    return byKey(paymentIds, rows, (row) => row.payment.id);
  });

function byKey<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): (T | null)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}
