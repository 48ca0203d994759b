import { randomUUID } from "node:crypto";
import { publish as publishEvent } from "@commerce/testing/events";
import type { ParsedEvent } from "@commerce/schema";
import { deliver, event, eventually, placeOrder, seedProduct, statusOf, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";
import { CatalogProduct } from "../catalog/catalog-product.entity";

let subgraph: OrderTestSubgraph;
beforeAll(async () => {
  subgraph = await startOrderSubgraph();
});
afterAll(() => subgraph?.stop());

/** Publishes like another service's relay would: one entry on the producer's stream. */
const publish = (envelope: ParsedEvent) => publishEvent(subgraph.runtime.redis, subgraph.streamPrefix, envelope);

const money = { amount: 900, currency: "USD" };

test("events on the product and payment streams drive the order to CONFIRMED, each applied once", async () => {
  const productId = await seedProduct(subgraph, { amount: 900 });
  const userId = randomUUID();
  const orderId = await placeOrder(subgraph, userId, [productId]);
  const reserved = event("inventory.reserved", { orderId, userId, total: money, items: [{ productId, quantity: 1 }] }, orderId);
  await publish(reserved);
  await publish(reserved); // redelivered duplicate
  await eventually("STOCK_RESERVED", async () => (await statusOf(subgraph, orderId)).status === "STOCK_RESERVED");
  await publish(event("payment.captured", { orderId, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "INV-9" }, orderId));
  const order = await eventually("CONFIRMED", async () => {
    const found = await statusOf(subgraph, orderId);
    return found.status === "CONFIRMED" && found;
  });
  expect(order.statusHistory.map((change) => change.status)).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED"]);
});

test("product.upserted from the stream updates the replica; an older update arriving late is ignored", async () => {
  const productId = randomUUID();
  const base = { productId, sku: "LATE-1", name: "Lamp", active: true };
  const newer = event("product.upserted", { ...base, price: { amount: 2000, currency: "USD" } }, productId);
  const older = {
    ...event("product.upserted", { ...base, price: { amount: 1500, currency: "USD" } }, productId),
    occurredAt: new Date(Date.parse(newer.occurredAt) - 60_000).toISOString(),
  };
  await publish(newer);
  const em = () => subgraph.runtime.orm.em.fork();
  await eventually("the product in the replica", () => em().findOne(CatalogProduct, { id: productId }));
  await deliver(subgraph, older);
  const stored = await em().findOneOrFail(CatalogProduct, { id: productId });
  expect(stored.priceAmount).toBe(2000);
  // And a placement prices from the newer state.
  const orderId = await placeOrder(subgraph, randomUUID(), [productId]);
  const [row] = await subgraph.runtime.orm.em
    .getConnection()
    .execute<{ total_amount: number }[]>(`select total_amount from orders where id = ?`, [orderId]);
  expect(row.total_amount).toBe(2000);
});

test("a capture that overtakes the reservation records both steps in order, once; a late reservation changes nothing", async () => {
  const productId = await seedProduct(subgraph, { amount: 900 });
  const userId = randomUUID();
  const orderId = await placeOrder(subgraph, userId, [productId]);
  const captured = event("payment.captured", { orderId, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "INV-10" }, orderId);
  await deliver(subgraph, captured);
  await deliver(subgraph, event("inventory.reserved", { orderId, userId, total: money, items: [{ productId, quantity: 1 }] }, orderId));
  const order = await statusOf(subgraph, orderId);
  expect(order.status).toBe("CONFIRMED");
  expect(order.statusHistory.map((change) => [change.status, change.reason])).toEqual([
    ["PENDING", "order placed"],
    ["STOCK_RESERVED", "implied by payment.captured (arrived before inventory.reserved)"],
    ["CONFIRMED", "payment captured"],
  ]);
  const [row] = await subgraph.runtime.orm.em.getConnection().execute<{ version: number }[]>(`select version from orders where id = ?`, [orderId]);
  expect(row.version).toBe(3);
});
