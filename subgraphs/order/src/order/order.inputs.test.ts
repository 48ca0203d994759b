import { BadUserInputError } from "@commerce/kit";
import { validatePlaceOrder, type PlaceOrderInput } from "./order.inputs";

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const input = (over: Partial<PlaceOrderInput>): PlaceOrderInput => ({ items: [{ productId: id(1), quantity: 1 }], ...over }) as PlaceOrderInput;

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    return (error as BadUserInputError).field;
  }
  throw new Error("expected a BadUserInputError");
}

test.each([
  ["no lines", input({ items: [] }), "input.items"],
  ["101 lines", input({ items: Array.from({ length: 101 }, (_, i) => ({ productId: id(i), quantity: 1 })) }), "input.items"],
  [
    "quantity 0",
    input({
      items: [
        { productId: id(1), quantity: 1 },
        { productId: id(2), quantity: 0 },
      ],
    }),
    "input.items.1.quantity",
  ],
  ["quantity 1001", input({ items: [{ productId: id(1), quantity: 1001 }] }), "input.items.0.quantity"],
  [
    "duplicate product",
    input({
      items: [
        { productId: id(1), quantity: 1 },
        { productId: id(1), quantity: 2 },
      ],
    }),
    "input.items",
  ],
  ["name of 201 chars", input({ name: "n".repeat(201) }), "input.name"],
  ["key of 201 chars", input({ idempotencyKey: "k".repeat(201) }), "input.idempotencyKey"],
  ["empty key", input({ idempotencyKey: "" }), "input.idempotencyKey"],
  ["blank key", input({ idempotencyKey: " \t " }), "input.idempotencyKey"],
])("rejects %s naming %s", (_what, value, field) => {
  expect(fieldOf(() => validatePlaceOrder(value))).toBe(field);
});

test("accepts the limits and normalises a blank name to null", () => {
  const items = Array.from({ length: 100 }, (_, i) => ({ productId: id(i), quantity: i === 0 ? 1000 : 1 }));
  const request = validatePlaceOrder(input({ items, name: "   ", idempotencyKey: "k".repeat(200) }));
  expect(request.items).toHaveLength(100);
  expect(request.name).toBeNull();
  expect(request.idempotencyKey).toHaveLength(200);
});

test("treats an absent key as no key and keeps a key exactly as sent", () => {
  expect(validatePlaceOrder(input({})).idempotencyKey).toBeNull();
  expect(validatePlaceOrder(input({ idempotencyKey: null })).idempotencyKey).toBeNull();
  expect(validatePlaceOrder(input({ idempotencyKey: " k " })).idempotencyKey).toBe(" k ");
});
