import { createEvent } from "@commerce/streams";
import type { EventEnvelope } from "@commerce/schema";

/** An `order.placed` of one item, the event the benches commit and publish. */
export function orderPlaced(orderId: string): EventEnvelope {
  return createEvent(
    "order.placed",
    {
      orderId,
      userId: "bench-user",
      items: [{ productId: "bench-product", quantity: 1, unitPrice: { amount: 990, currency: "EUR" } }],
      total: { amount: 990, currency: "EUR" },
    },
    { correlationId: orderId },
  );
}
