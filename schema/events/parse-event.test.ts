import { randomUUID } from "node:crypto";
import { MalformedEventError, parseEvent, streamForType, type EventPayload } from "./index";

const placed: EventPayload<"order.placed"> = {
  orderId: "o-1",
  userId: "u-1",
  items: [{ productId: "p-1", quantity: 2, unitPrice: { amount: 1250, currency: "EUR" } }],
  total: { amount: 2500, currency: "EUR" },
};

function envelope(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    type: "order.placed",
    version: 1,
    occurredAt: new Date().toISOString(),
    correlationId: "o-1",
    causationId: null,
    payload: placed,
    ...overrides,
  };
}

function errorOf(input: unknown): MalformedEventError {
  try {
    parseEvent(input);
  } catch (error) {
    if (error instanceof MalformedEventError) return error;
    throw error;
  }
  throw new Error("expected parseEvent to throw");
}

describe("parseEvent", () => {
  it("returns a typed event discriminated on type", () => {
    const event = parseEvent(envelope());
    expect(event.type).toBe("order.placed");
    if (event.type === "order.placed") {
      // compile-time check: payload is narrowed to the order.placed contract
      expect(event.payload.items[0]!.unitPrice.amount).toBe(1250);
    }
  });

  it("keeps the trace context when present", () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(parseEvent(envelope({ traceparent })).traceparent).toBe(traceparent);
  });

  it("names an unknown type", () => {
    expect(errorOf(envelope({ type: "order.teleported" })).message).toMatch(/unknown event type "order.teleported"/);
  });

  it("names an unknown version and the versions it knows", () => {
    expect(errorOf(envelope({ version: 7 })).message).toMatch(/unknown version 7 of "order.placed".*version\(s\) 1/);
  });

  it("names the bad field path of the payload", () => {
    const bad = { ...placed, items: [{ ...placed.items[0], quantity: "2" }] };
    expect(errorOf(envelope({ payload: bad })).message).toMatch(/payload\.items\.0\.quantity/);
  });

  it("rejects fractional money", () => {
    const bad = { ...placed, total: { amount: 25.5, currency: "EUR" } };
    expect(errorOf(envelope({ payload: bad })).message).toMatch(/payload\.total\.amount/);
  });

  it("rejects a broken envelope", () => {
    expect(errorOf(envelope({ id: "not-a-uuid" })).message).toMatch(/malformed envelope: id/);
    expect(errorOf("just a string").message).toMatch(/malformed envelope/);
    expect(errorOf(envelope({ correlationId: undefined })).message).toMatch(/correlationId/);
  });

  it("tolerates unknown payload fields (additive changes keep the version)", () => {
    const event = parseEvent(envelope({ payload: { ...placed, giftWrap: true } }));
    expect(event.payload).not.toHaveProperty("giftWrap");
  });
});

describe("streamForType", () => {
  it("maps a type to its producer stream", () => {
    expect(streamForType("order.placed")).toBe("order");
    expect(streamForType("inventory.reserved")).toBe("product");
    expect(streamForType("product.upserted")).toBe("product");
    expect(streamForType("payment.failed")).toBe("payment");
    expect(streamForType("user.registered")).toBe("user");
    // Returns are the order service's: their steps travel with the order's other events.
    expect(streamForType("return.received")).toBe("order");
    expect(streamForType("inventory.return_restocked")).toBe("product");
    expect(streamForType("payment.return_refunded")).toBe("payment");
  });
});
