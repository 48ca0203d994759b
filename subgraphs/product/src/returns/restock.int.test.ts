import { randomUUID } from "node:crypto";
import { createEvent } from "@commerce/streams";
import { adjustStock, createProduct, handle, startWithTwoWarehouses, stockOf, type ProductTestSubgraph } from "../test-support";

let service: ProductTestSubgraph, w1: string, w2: string;
beforeAll(async () => void ({ service, w1, w2 } = await startWithTwoWarehouses()));
afterAll(() => service?.stop());

const received = (returnId: string, warehouseId: string, lines: { productId: string; quantity: number }[]) => {
  const orderId = randomUUID();
  return createEvent(
    "return.received",
    {
      returnId,
      orderId,
      userId: randomUUID(),
      warehouseId,
      lines: lines.map((line) => ({ ...line, unitPrice: { amount: 100, currency: "USD" } })),
      refund: { amount: 100, currency: "USD" },
    },
    { correlationId: orderId },
  );
};

test("a received return goes back on hand in the receiving warehouse once, even in a second envelope", async () => {
  const mug = (await createProduct(service)).id;
  const kettle = (await createProduct(service)).id;
  await adjustStock(service, mug, w1, 5);
  await adjustStock(service, kettle, w1, 5);
  const returnId = randomUUID();
  // The kettle never had stock in w2: receiving it there opens its row.
  const first = await handle(
    service,
    received(returnId, w2, [
      { productId: mug, quantity: 2 },
      { productId: kettle, quantity: 1 },
    ]),
  );
  expect(first.map((event) => [event.type, event.payload])).toEqual([
    [
      "inventory.return_restocked",
      expect.objectContaining({
        returnId,
        warehouseId: w2,
        items: [
          { productId: mug, quantity: 2 },
          { productId: kettle, quantity: 1 },
        ],
      }),
    ],
  ]);
  const again = await handle(
    service,
    received(returnId, w2, [
      { productId: mug, quantity: 2 },
      { productId: kettle, quantity: 1 },
    ]),
  );
  expect(again).toEqual([]);
  expect(await stockOf(service, mug)).toMatchObject({ [w1]: { onHand: 5, reserved: 0 }, [w2]: { onHand: 2, reserved: 0 } });
  expect(await stockOf(service, kettle)).toMatchObject({ [w1]: { onHand: 5, reserved: 0 }, [w2]: { onHand: 1, reserved: 0 } });
});

test("returns received at once into the same stock rows all count", async () => {
  const mug = (await createProduct(service)).id;
  await adjustStock(service, mug, w1, 1);
  await Promise.all(Array.from({ length: 8 }, () => handle(service, received(randomUUID(), w1, [{ productId: mug, quantity: 1 }]))));
  expect((await stockOf(service, mug))[w1]).toEqual({ onHand: 9, reserved: 0 });
});
