import { parseEvent, streamForType, type EventOf, type EventPayload, type EventType, type ParsedEvent } from "@commerce/schema";
import { createEvent, streamKey, type RedisClient } from "@commerce/streams";

export { eventually } from "./index";

// Test-only helpers: play another service's part on the streams (shared by every subgraph's tests).

/** Builds an event as its producer would. */
export function event<T extends EventType>(type: T, payload: EventPayload<T>, correlationId = "test"): EventOf<T> {
  return createEvent(type, payload, { correlationId });
}

/** An `order.placed` of one item at `amount` minor units (EUR), correlated by its order id. */
export function orderPlaced(orderId: string, amount = 100): EventOf<"order.placed"> {
  const price = { amount, currency: "EUR" };
  return event("order.placed", { orderId, userId: "u-1", items: [{ productId: "p-1", quantity: 1, unitPrice: price }], total: price }, orderId);
}

/** Appends an event to its producer's stream, exactly as the outbox relay does. */
export async function publish(redis: RedisClient, prefix: string, envelope: ParsedEvent): Promise<void> {
  await redis.xadd(
    streamKey(prefix, streamForType(envelope.type)),
    "*",
    "id",
    envelope.id,
    "type",
    envelope.type,
    "envelope",
    JSON.stringify(envelope),
  );
}

/** Every event on one producer's stream so far, oldest first. */
export async function streamEvents(redis: RedisClient, prefix: string, producer: string): Promise<ParsedEvent[]> {
  const entries = (await redis.xrange(streamKey(prefix, producer), "-", "+")) as [string, string[]][];
  return entries.map(([, fields]) => parseEvent(JSON.parse(fields[fields.indexOf("envelope") + 1])));
}
