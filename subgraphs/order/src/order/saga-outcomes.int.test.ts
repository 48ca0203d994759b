import { randomUUID } from "node:crypto";
import { markPaymentFailedOnPaymentFailed } from "../handlers/payment-failed.on-payment-failed";
import { deliver, event, placeOrder, seedProduct, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
beforeAll(async () => {
  subgraph = await startOrderSubgraph();
});
afterAll(() => subgraph?.stop());

/** `saga_outcomes_total` by status, from this subgraph's registry (what /metrics serves). */
async function outcomes(): Promise<Record<string, number>> {
  const metric = subgraph.runtime.metrics.registry.getSingleMetric("saga_outcomes_total");
  if (!metric) return {};
  return Object.fromEntries((await metric.get()).values.map((v) => [String(v.labels.status), v.value]));
}

const money = { amount: 900, currency: "USD" };

test("saga_outcomes_total counts each order once when it reaches an outcome, not duplicates or failed attempts", async () => {
  const productId = await seedProduct(subgraph, { amount: 900 });
  const userId = randomUUID();
  const confirmed = await placeOrder(subgraph, userId, [productId]);
  const rejected = await placeOrder(subgraph, userId, [productId]);
  expect(await outcomes()).toEqual({});

  await deliver(subgraph, event("inventory.reserved", { orderId: confirmed, userId, total: money, items: [{ productId, quantity: 1 }] }, confirmed));
  expect(await outcomes()).toEqual({}); // STOCK_RESERVED is on the way, not an outcome
  const captured = event(
    "payment.captured",
    { orderId: confirmed, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "INV-1" },
    confirmed,
  );
  await deliver(subgraph, captured);
  await deliver(subgraph, captured); // a duplicate changes nothing, so counts nothing
  await deliver(
    subgraph,
    event("inventory.rejected", { orderId: rejected, userId, reason: "no stock", shortages: [{ productId, requested: 1, available: 0 }] }, rejected),
  );
  expect(await outcomes()).toEqual({ CONFIRMED: 1, OUT_OF_STOCK: 1 });

  // A handler whose transaction rolls back after the transition counts nothing.
  const other = await placeOrder(subgraph, userId, [productId]);
  await deliver(subgraph, event("inventory.reserved", { orderId: other, userId, total: money, items: [{ productId, quantity: 1 }] }, other));
  const failed = event("payment.failed", { orderId: other, userId, paymentId: randomUUID(), amount: money, reason: "insufficient funds" }, other);
  await expect(
    subgraph.runtime.commit(subgraph.runtime.orm.em.fork(), async (tx, emit) => {
      await markPaymentFailedOnPaymentFailed(failed, { em: tx, emit, logger: subgraph.runtime.logger, settings: subgraph.runtime.settings });
      throw new Error("the transaction fails after the transition");
    }),
  ).rejects.toThrow("the transaction fails");
  expect(await outcomes()).toEqual({ CONFIRMED: 1, OUT_OF_STOCK: 1 });
  // Redelivered, it commits and counts once.
  await deliver(subgraph, failed);
  expect(await outcomes()).toEqual({ CONFIRMED: 1, OUT_OF_STOCK: 1, PAYMENT_FAILED: 1 });
});
