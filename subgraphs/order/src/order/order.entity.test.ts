import { ORDER_STATUSES, isTerminal, nextStatus, type OrderStatus, type OrderTrigger } from "./order.entity";

const triggers: OrderTrigger[] = [
  { type: "stock_reserved" },
  { type: "stock_rejected", reason: "short" },
  { type: "payment_captured" },
  { type: "payment_failed", reason: "insufficient funds" },
  { type: "cancel", reason: "changed my mind", expired: false },
  { type: "ship" },
  { type: "complete" },
];

// The whole machine, written out: [from, trigger] → to. Everything not listed must be refused.
const allowed: [OrderStatus, OrderTrigger["type"], OrderStatus][] = [
  ["PENDING", "stock_reserved", "STOCK_RESERVED"],
  ["PENDING", "stock_rejected", "OUT_OF_STOCK"],
  ["PENDING", "cancel", "CANCELLED"],
  ["STOCK_RESERVED", "payment_captured", "CONFIRMED"],
  ["STOCK_RESERVED", "payment_failed", "PAYMENT_FAILED"],
  ["STOCK_RESERVED", "cancel", "CANCELLED"],
  ["CONFIRMED", "ship", "SHIPPED"],
  ["CONFIRMED", "cancel", "CANCELLED"],
  ["SHIPPED", "complete", "COMPLETED"],
];

describe("order status machine", () => {
  for (const from of ORDER_STATUSES) {
    for (const trigger of triggers) {
      const rule = allowed.find(([f, t]) => f === from && t === trigger.type);
      test(`${from} + ${trigger.type} → ${rule ? rule[2] : "refused"}`, () => {
        expect(nextStatus(from, trigger)).toBe(rule ? rule[2] : null);
      });
    }
  }

  test("terminal statuses accept no trigger at all", () => {
    for (const status of ORDER_STATUSES.filter(isTerminal)) {
      expect(triggers.map((trigger) => nextStatus(status, trigger))).toEqual(triggers.map(() => null));
    }
    expect(ORDER_STATUSES.filter(isTerminal).sort()).toEqual(["CANCELLED", "COMPLETED", "OUT_OF_STOCK", "PAYMENT_FAILED"]);
  });
});
