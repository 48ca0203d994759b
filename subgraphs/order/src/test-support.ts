/**
 * Helpers for this subgraph's integration tests (not shipped): start the
 * subgraph on a throwaway database, feed its catalog, deliver saga events the
 * way the stream consumer does, and poll with deadlines.
 */
import { randomUUID } from "node:crypto";
import type { EventOf, EventPayload, EventType, ParsedEvent } from "@commerce/schema";
import { event as testEvent, eventually } from "@commerce/testing/events";
import { startTestSubgraph, asUser, type TestSubgraph } from "@commerce/testing/subgraph";
import { orderSubgraph } from "./module";
import type { OrderSettings } from "./settings";

export { asUser, eventually };
export type OrderTestSubgraph = TestSubgraph<OrderSettings>;

export function startOrderSubgraph(env: Record<string, string> = {}): Promise<OrderTestSubgraph> {
  // Nothing listens there: tests that need the product subgraph say so explicitly.
  return startTestSubgraph(orderSubgraph, { SUBGRAPH_PRODUCT_URL: "http://127.0.0.1:9/graphql", ...env });
}

/** An event as a producer would emit it, correlated with `correlationId` (the order id for saga events). */
export function event<T extends EventType>(type: T, payload: EventPayload<T>, correlationId: string = randomUUID()): EventOf<T> {
  return testEvent(type, payload, correlationId);
}

/** Runs this subgraph's handler for `envelope` in one transaction with its outbox, as the consumer does. */
export async function deliver(subgraph: OrderTestSubgraph, envelope: ParsedEvent): Promise<void> {
  await subgraph.deliver(envelope);
}

/** Puts a product into the order service's catalog replica through its `product.upserted` handler. */
export async function seedProduct(
  subgraph: OrderTestSubgraph,
  init: { amount?: number; currency?: string; active?: boolean; name?: string } = {},
): Promise<string> {
  const productId = randomUUID();
  await deliver(
    subgraph,
    event(
      "product.upserted",
      {
        productId,
        sku: `SKU-${productId.slice(0, 8)}`,
        name: init.name ?? "Widget",
        price: { amount: init.amount ?? 1000, currency: init.currency ?? "USD" },
        active: init.active ?? true,
      },
      productId,
    ),
  );
  return productId;
}

export const PLACE = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id name status failureReason total { amount currency } user { id }
    items { product { id } quantity unitPrice { amount currency } }
    statusHistory { status reason at } createdAt updatedAt }
}`;

export const ORDER = `query Order($id: ID!) {
  order(id: $id) { id status failureReason statusHistory { status reason } }
}`;

/** Places an order of `quantity` × each product as `userId`; returns the order's id (fails on errors). */
export async function placeOrder(
  subgraph: OrderTestSubgraph,
  userId: string,
  productIds: string[],
  extra: { name?: string; idempotencyKey?: string; quantity?: number } = {},
): Promise<string> {
  const { quantity = 1, ...rest } = extra;
  const result = await subgraph.gql<{ placeOrder: { id: string } }>(
    PLACE,
    { input: { items: productIds.map((productId) => ({ productId, quantity })), ...rest } },
    asUser(userId),
  );
  if (result.errors?.length || !result.data) throw new Error(`placeOrder failed: ${JSON.stringify(result.errors)}`);
  return result.data.placeOrder.id;
}

/** The order's status and history, read directly (as STAFF). */
export async function statusOf(subgraph: OrderTestSubgraph, id: string) {
  const result = await subgraph.gql<{
    order: { status: string; failureReason: string | null; statusHistory: { status: string; reason: string | null }[] };
  }>(ORDER, { id }, asUser(randomUUID(), "STAFF"));
  if (result.errors?.length || !result.data?.order) throw new Error(`order(${id}) failed: ${JSON.stringify(result.errors)}`);
  return result.data.order;
}
