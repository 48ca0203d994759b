import type { Consumes, EventHandler } from "@commerce/kit";
import { recordMoney, recordPlaced, recordProduct, recordReturnLines, recordStatus } from "./facts";

/** The consumer group of the sales projection: its own position, retries and dead letters. */
export const ANALYTICS_GROUP = "analytics";

const placed: EventHandler<"order.placed"> = async (event, { em }) => {
  const { orderId, userId, items, total } = event.payload;
  const lines = items.map((item) => ({ productId: item.productId, quantity: item.quantity, unitAmount: item.unitPrice.amount }));
  await recordPlaced(em, { orderId, userId, placedAt: new Date(event.occurredAt), total: total.amount, currency: total.currency, lines });
};

const statusChanged: EventHandler<"order.status_changed"> = async (event, { em }) => {
  const { orderId, userId, status, previousStatus, at } = event.payload;
  await recordStatus(em, { orderId, userId, status, previousStatus, at: new Date(at) });
};

const captured: EventHandler<"payment.captured"> = async (event, { em }) => {
  const { orderId, paymentId, amount } = event.payload;
  await recordMoney(em, {
    key: `capture:${paymentId}`,
    kind: "CAPTURE",
    orderId,
    amount: amount.amount,
    currency: amount.currency,
    at: new Date(event.occurredAt),
  });
};

const refunded: EventHandler<"payment.refunded"> = async (event, { em }) => {
  const { orderId, paymentId, amount } = event.payload;
  await recordMoney(em, {
    key: `refund:${paymentId}`,
    kind: "REFUND",
    orderId,
    amount: amount.amount,
    currency: amount.currency,
    at: new Date(event.occurredAt),
  });
};

const returnReceived: EventHandler<"return.received"> = async (event, { em }) => {
  const lines = event.payload.lines.map((line) => ({ productId: line.productId, quantity: line.quantity, unitAmount: line.unitPrice.amount }));
  await recordReturnLines(em, event.payload.returnId, lines);
};

const returnRefunded: EventHandler<"payment.return_refunded"> = async (event, { em }) => {
  const { returnId, orderId, amount } = event.payload;
  if (amount.amount === 0) return;
  await recordMoney(em, {
    key: `return:${returnId}`,
    kind: "REFUND",
    orderId,
    returnId,
    amount: amount.amount,
    currency: amount.currency,
    at: new Date(event.occurredAt),
  });
};

const productUpserted: EventHandler<"product.upserted"> = async (event, { em }) => {
  const { productId, name, categoryId, categoryName } = event.payload;
  await recordProduct(em, { productId, name, categoryId: categoryId ?? null, categoryName: categoryName ?? null, at: new Date(event.occurredAt) });
};

/** Reads events only: nothing in the saga waits for it, and it emits nothing. */
export const analyticsProjection: Consumes & { group: string } = {
  group: ANALYTICS_GROUP,
  streams: ["product", "order", "payment"],
  handlers: {
    "order.placed": placed,
    "order.status_changed": statusChanged,
    "payment.captured": captured,
    "payment.refunded": refunded,
    "payment.return_refunded": returnRefunded,
    "return.received": returnReceived,
    "product.upserted": productUpserted,
  },
};
