/**
 * Helpers of the product subgraph's integration tests (generic ones come from @commerce/testing).
 */
import { randomUUID } from "node:crypto";
import type { EventEnvelope, EventType, ParsedEvent } from "@commerce/schema";
import { createEvent } from "@commerce/streams";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { productSubgraph } from "./module";

export const ADMIN = asUser(randomUUID(), "ADMIN");
export const STAFF = asUser(randomUUID(), "STAFF");
export const CUSTOMER = asUser(randomUUID(), "CUSTOMER");
export const SERVICE = { kind: "service" as const, service: "order" };

export type ProductTestSubgraph = TestSubgraph<unknown>;

export const startProductSubgraph = () => startTestSubgraph(productSubgraph);

/** The subgraph with two fresh warehouses, for suites that move stock between them. */
export async function startWithTwoWarehouses(): Promise<{ service: ProductTestSubgraph; w1: string; w2: string }> {
  const service = await startProductSubgraph();
  return { service, w1: await createWarehouse(service), w2: await createWarehouse(service) };
}

/** Runs a query that must succeed and returns its data. */
export async function ok<T = Record<string, any>>(
  service: ProductTestSubgraph,
  query: string,
  variables: Record<string, unknown> = {},
  as: Parameters<ProductTestSubgraph["gql"]>[2] = ADMIN,
): Promise<T> {
  const result = await service.gql<T>(query, variables, as);
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data!;
}

/** The first error's `extensions` of a query that must fail. */
export async function failure(
  service: ProductTestSubgraph,
  query: string,
  variables: Record<string, unknown>,
  as: Parameters<ProductTestSubgraph["gql"]>[2],
): Promise<Record<string, unknown>> {
  const result = await service.gql(query, variables, as);
  expect(result.errors?.length).toBeGreaterThan(0);
  return result.errors![0].extensions ?? {};
}

export async function createWarehouse(service: ProductTestSubgraph, code = `W-${randomUUID().slice(0, 8)}`): Promise<string> {
  const data = await ok<{ createWarehouse: { id: string } }>(service, `mutation($c: String!) { createWarehouse(code: $c, name: "Depot") { id } }`, {
    c: code,
  });
  return data.createWarehouse.id;
}

export async function createProduct(
  service: ProductTestSubgraph,
  input: Record<string, unknown> = {},
): Promise<{ id: string; sku: string; name: string }> {
  const data = await ok<{ createProduct: { id: string; sku: string; name: string } }>(
    service,
    `mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku name } }`,
    { input: { sku: `SKU-${randomUUID().slice(0, 8)}`, name: "Widget", price: { amount: 1999, currency: "USD" }, ...input } },
  );
  return data.createProduct;
}

export async function adjustStock(service: ProductTestSubgraph, productId: string, warehouseId: string, delta: number) {
  const data = await ok<{ adjustStock: { onHand: number; reserved: number } }>(
    service,
    `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "test") { onHand reserved } }`,
    { p: productId, w: warehouseId, d: delta },
    STAFF,
  );
  return data.adjustStock;
}

/** Stock of a product per warehouse id, straight from the table. */
export async function stockOf(service: ProductTestSubgraph, productId: string): Promise<Record<string, { onHand: number; reserved: number }>> {
  const rows: { warehouse_id: string; on_hand: number; reserved: number }[] = await service.runtime.orm.em
    .fork()
    .getConnection()
    .execute(`select warehouse_id, on_hand, reserved from stock_levels where product_id = ?`, [productId]);
  return Object.fromEntries(rows.map((row) => [row.warehouse_id, { onHand: row.on_hand, reserved: row.reserved }]));
}

/** Events of a type written to the outbox (committed), optionally for one correlation id. */
export async function outbox(service: ProductTestSubgraph, type: EventType, correlationId?: string): Promise<EventEnvelope[]> {
  const rows: { payload: EventEnvelope }[] = await service.runtime.orm.em
    .fork()
    .getConnection()
    .execute(
      `select payload from outbox where type = ? ${correlationId ? "and correlation_id = ?" : ""} order by id`,
      correlationId ? [type, correlationId] : [type],
    );
  return rows.map((row) => row.payload);
}

/** Applies one event with the subgraph's own handler as the stream consumer does; returns what it emitted. */
export const handle = (service: ProductTestSubgraph, event: ParsedEvent): Promise<EventEnvelope[]> => service.deliver(event);

const USD = (amount: number) => ({ amount, currency: "USD" });

export const orderPlaced = (items: { productId: string; quantity: number }[], orderId: string = randomUUID(), userId: string = randomUUID()) =>
  createEvent(
    "order.placed",
    {
      orderId,
      userId,
      items: items.map((item) => ({ ...item, unitPrice: USD(100) })),
      total: USD(100 * items.reduce((sum, item) => sum + item.quantity, 0)),
    },
    { correlationId: orderId },
  );

export const paymentCaptured = (orderId: string) =>
  createEvent(
    "payment.captured",
    { orderId, userId: randomUUID(), paymentId: randomUUID(), amount: USD(100), invoiceNumber: "INV-1" },
    { correlationId: orderId },
  );

export const paymentFailed = (orderId: string) =>
  createEvent(
    "payment.failed",
    { orderId, userId: randomUUID(), paymentId: randomUUID(), amount: USD(100), reason: "insufficient funds" },
    { correlationId: orderId },
  );

export const orderCancelled = (orderId: string, previousStatus: "PENDING" | "STOCK_RESERVED" | "CONFIRMED" = "STOCK_RESERVED") =>
  createEvent(
    "order.cancelled",
    { orderId, userId: randomUUID(), reason: "changed my mind", previousStatus, expired: false },
    { correlationId: orderId },
  );
