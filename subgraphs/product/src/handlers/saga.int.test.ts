import { randomUUID } from "node:crypto";
import { eventFields, streamKey } from "@commerce/streams";
import {
  adjustStock,
  createProduct,
  handle,
  orderCancelled,
  orderPlaced,
  outbox,
  paymentCaptured,
  paymentFailed,
  startWithTwoWarehouses,
  stockOf,
  ok,
  type ProductTestSubgraph,
} from "../test-support";

let service: ProductTestSubgraph, w1: string, w2: string;
beforeAll(async () => void ({ service, w1, w2 } = await startWithTwoWarehouses()));
afterAll(() => service?.stop());

/** A product with the given units per warehouse. */
async function stocked(units: { w1?: number; w2?: number }, input: Record<string, unknown> = {}) {
  const product = await createProduct(service, input);
  if (units.w1) await adjustStock(service, product.id, w1, units.w1);
  if (units.w2) await adjustStock(service, product.id, w2, units.w2);
  return product.id;
}

const reservationStatus = async (orderId: string) => {
  const rows: { status: string }[] = await service.runtime.orm.em
    .fork()
    .getConnection()
    .execute(`select status from reservations where order_id = ?`, [orderId]);
  return rows[0]?.status ?? null;
};

describe("reserve-stock.on-order-placed", () => {
  it("never oversells: 200 concurrent orders for 10 units give 10 reservations and 190 rejections", async () => {
    const productId = await stocked({ w1: 10 });
    const events = Array.from({ length: 200 }, () => orderPlaced([{ productId, quantity: 1 }]));
    const emitted = (await Promise.all(events.map((event) => handle(service, event)))).flat();
    expect(emitted.filter((event) => event.type === "inventory.reserved")).toHaveLength(10);
    expect(emitted.filter((event) => event.type === "inventory.rejected")).toHaveLength(190);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 10, reserved: 10 } });
    expect(await outbox(service, "inventory.reserved")).toEqual(
      expect.arrayContaining(emitted.filter((event) => event.type === "inventory.reserved")),
    );
  }, 60_000);

  it("reserves across warehouses, most available first, and carries userId, total and the invoice's lines for payment", async () => {
    const productId = await stocked({ w1: 2, w2: 5 }, { name: "Invoice Lamp" });
    const event = orderPlaced([{ productId, quantity: 6 }]);
    const [reserved] = await handle(service, event).then((out) => out.filter((e) => e.type === "inventory.reserved"));
    expect(reserved.payload).toEqual({
      orderId: event.payload.orderId,
      userId: event.payload.userId,
      total: event.payload.total,
      items: [{ productId, quantity: 6, unitPrice: { amount: 100, currency: "USD" }, name: "Invoice Lamp" }],
    });
    expect(reserved.causationId).toBe(event.id);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 2, reserved: 1 }, [w2]: { onHand: 5, reserved: 5 } });
  });

  it("is all or nothing across lines: one short line reserves nothing", async () => {
    const plenty = await stocked({ w1: 10 });
    const scarce = await stocked({ w2: 1 });
    const event = orderPlaced([
      { productId: plenty, quantity: 3 },
      { productId: scarce, quantity: 2 },
    ]);
    const out = await handle(service, event);
    expect(out.map((e) => e.type)).toEqual(["inventory.rejected"]);
    expect(out[0].payload).toMatchObject({ orderId: event.payload.orderId, shortages: [{ productId: scarce, requested: 2, available: 1 }] });
    expect(await stockOf(service, plenty)).toEqual({ [w1]: { onHand: 10, reserved: 0 } });
    expect(await stockOf(service, scarce)).toEqual({ [w2]: { onHand: 1, reserved: 0 } });
  });

  it("rejects unknown and deleted products", async () => {
    const deleted = await stocked({ w1: 5 });
    await ok(service, `mutation($id: ID!) { deleteProduct(id: $id) }`, { id: deleted });
    const out = await handle(
      service,
      orderPlaced([
        { productId: deleted, quantity: 1 },
        { productId: randomUUID(), quantity: 1 },
        { productId: "not-a-uuid", quantity: 1 },
      ]),
    );
    expect(out.map((e) => e.type)).toEqual(["inventory.rejected"]);
    expect((out[0].payload as { shortages: unknown[] }).shortages).toHaveLength(3);
    expect(await stockOf(service, deleted)).toEqual({ [w1]: { onHand: 5, reserved: 0 } });
  });

  it("is idempotent per order: a second order.placed for the same order does nothing", async () => {
    const productId = await stocked({ w1: 5 });
    const event = orderPlaced([{ productId, quantity: 2 }]);
    await handle(service, event);
    const again = orderPlaced([{ productId, quantity: 2 }], event.payload.orderId, event.payload.userId);
    expect(await handle(service, again)).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 5, reserved: 2 } });
  });
});

describe("commit, release and restock", () => {
  it("payment.captured commits: on hand and reserved both drop, once", async () => {
    const productId = await stocked({ w1: 4, w2: 3 }); // 6 units: all 4 of w1, then 2 of w2
    const placed = orderPlaced([{ productId, quantity: 6 }]);
    await handle(service, placed);
    const out = await handle(service, paymentCaptured(placed.payload.orderId));
    expect(out.map((e) => e.type)).toEqual(["inventory.committed"]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 0, reserved: 0 }, [w2]: { onHand: 1, reserved: 0 } });
    expect(await handle(service, paymentCaptured(placed.payload.orderId))).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 0, reserved: 0 }, [w2]: { onHand: 1, reserved: 0 } });
  });

  it("payment.failed releases the held units, once", async () => {
    const productId = await stocked({ w1: 5 });
    const placed = orderPlaced([{ productId, quantity: 3 }]);
    await handle(service, placed);
    expect((await handle(service, paymentFailed(placed.payload.orderId))).map((e) => e.type)).toEqual(["inventory.released"]);
    expect(await handle(service, paymentFailed(placed.payload.orderId))).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 5, reserved: 0 } });
    expect(await reservationStatus(placed.payload.orderId)).toBe("RELEASED");
  });

  it("order.cancelled before payment releases; after payment restocks", async () => {
    const productId = await stocked({ w1: 10 });
    const unpaid = orderPlaced([{ productId, quantity: 2 }]);
    const paid = orderPlaced([{ productId, quantity: 3 }]);
    await handle(service, unpaid);
    await handle(service, paid);
    await handle(service, paymentCaptured(paid.payload.orderId));
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 7, reserved: 2 } });

    expect((await handle(service, orderCancelled(unpaid.payload.orderId))).map((e) => e.type)).toEqual(["inventory.released"]);
    expect((await handle(service, orderCancelled(paid.payload.orderId, "CONFIRMED"))).map((e) => e.type)).toEqual(["inventory.restocked"]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 10, reserved: 0 } });
    expect(await handle(service, orderCancelled(paid.payload.orderId, "CONFIRMED"))).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 10, reserved: 0 } });
  });
});

describe("late and out-of-order events", () => {
  it("a cancellation that overtakes order.placed leaves a tombstone: the late order reserves nothing", async () => {
    const productId = await stocked({ w1: 5 });
    const placed = orderPlaced([{ productId, quantity: 2 }]);
    expect(await handle(service, orderCancelled(placed.payload.orderId, "PENDING"))).toEqual([]);
    expect(await handle(service, placed)).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 5, reserved: 0 } });
    expect(await reservationStatus(placed.payload.orderId)).toBe("CANCELLED");
  });

  it("payment.captured after a cancellation released the stock commits nothing", async () => {
    const productId = await stocked({ w1: 5 });
    const placed = orderPlaced([{ productId, quantity: 2 }]);
    await handle(service, placed);
    await handle(service, orderCancelled(placed.payload.orderId));
    expect(await handle(service, paymentCaptured(placed.payload.orderId))).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 5, reserved: 0 } });
    expect(await reservationStatus(placed.payload.orderId)).toBe("RELEASED");
  });

  it("payment.failed after a capture, and events for unknown orders, change nothing", async () => {
    const productId = await stocked({ w1: 5 });
    const placed = orderPlaced([{ productId, quantity: 2 }]);
    await handle(service, placed);
    await handle(service, paymentCaptured(placed.payload.orderId));
    expect(await handle(service, paymentFailed(placed.payload.orderId))).toEqual([]);
    expect(await handle(service, paymentCaptured(randomUUID()))).toEqual([]);
    expect(await handle(service, paymentFailed(randomUUID()))).toEqual([]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 3, reserved: 0 } });
  });

  it("a cancellation racing the capture or the placement of the same order leaves the stock whole", async () => {
    const productId = await stocked({ w1: 100 });
    const captured = Array.from({ length: 10 }, () => orderPlaced([{ productId, quantity: 2 }]));
    for (const placed of captured) await handle(service, placed);
    const placing = Array.from({ length: 10 }, () => orderPlaced([{ productId, quantity: 3 }]));
    await Promise.all([
      ...captured.flatMap((placed) => [
        handle(service, paymentCaptured(placed.payload.orderId)),
        handle(service, orderCancelled(placed.payload.orderId, "STOCK_RESERVED")),
      ]),
      ...placing.flatMap((placed) => [handle(service, placed), handle(service, orderCancelled(placed.payload.orderId, "PENDING"))]),
    ]);
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 100, reserved: 0 } });
    for (const placed of captured) expect(["RELEASED", "RESTOCKED"]).toContain(await reservationStatus(placed.payload.orderId));
    for (const placed of placing) expect(["RELEASED", "CANCELLED"]).toContain(await reservationStatus(placed.payload.orderId));
  }, 60_000);

  it("a cancellation of a rejected order releases nothing", async () => {
    const productId = await stocked({ w1: 1 });
    const placed = orderPlaced([{ productId, quantity: 2 }]);
    await handle(service, placed);
    expect(await handle(service, orderCancelled(placed.payload.orderId, "PENDING"))).toEqual([]);
    expect(await reservationStatus(placed.payload.orderId)).toBe("REJECTED");
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 1, reserved: 0 } });
  });
});

describe("inventory.low_stock", () => {
  it("is emitted once per crossing, from reservations and from adjustStock, and re-armed above the threshold", async () => {
    const productId = await stocked({ w1: 10 }, { lowStockThreshold: 3 });
    const lowStock = async () =>
      (await outbox(service, "inventory.low_stock")).filter((e) => (e.payload as { productId: string }).productId === productId);

    await handle(service, orderPlaced([{ productId, quantity: 6 }])); // 4 left: above
    expect(await lowStock()).toHaveLength(0);
    const placed = orderPlaced([{ productId, quantity: 1 }]);
    await handle(service, placed); // 3 left: crossing
    await handle(service, orderPlaced([{ productId, quantity: 1 }])); // 2 left: still low
    const alerts = await lowStock();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].payload).toMatchObject({ productId, available: 3, threshold: 3 });

    await handle(service, orderCancelled(placed.payload.orderId)); // 3 left: still low, no re-arm
    await adjustStock(service, productId, w2, 5); // 8: re-armed
    expect(await lowStock()).toHaveLength(1);
    await adjustStock(service, productId, w2, -5); // 3: second crossing, from adjustStock
    expect(await lowStock()).toHaveLength(2);
  });
});

describe("through the stream", () => {
  it("the module consumes order.placed from the order stream and cancellations release", async () => {
    const productId = await stocked({ w1: 3 });
    const placed = orderPlaced([{ productId, quantity: 2 }]);
    const publish = (event: typeof placed | ReturnType<typeof orderCancelled>, stream: "order" | "payment" = "order") =>
      service.runtime.redis.xadd(streamKey(service.streamPrefix, stream), "*", ...eventFields(event, JSON.stringify(event)));
    await publish(placed);
    await until(async () => (await reservationStatus(placed.payload.orderId)) === "RESERVED");
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 3, reserved: 2 } });
    await publish(orderCancelled(placed.payload.orderId));
    await until(async () => (await reservationStatus(placed.payload.orderId)) === "RELEASED");
    expect(await stockOf(service, productId)).toEqual({ [w1]: { onHand: 3, reserved: 0 } });
  });
});

async function until(condition: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
