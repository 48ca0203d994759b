import { randomUUID } from "node:crypto";
import { asUser, deliver, event, placeOrder, seedProduct, statusOf, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
let productId: string;
beforeAll(async () => {
  subgraph = await startOrderSubgraph();
  productId = await seedProduct(subgraph, { amount: 500 });
});
afterAll(() => subgraph?.stop());

const money = { amount: 500, currency: "USD" };
const reserved = (orderId: string, userId: string) =>
  event("inventory.reserved", { orderId, userId, total: money, items: [{ productId, quantity: 1 }] }, orderId);
const rejected = (orderId: string, userId: string) =>
  event("inventory.rejected", { orderId, userId, reason: "insufficient stock", shortages: [{ productId, requested: 1, available: 0 }] }, orderId);
const captured = (orderId: string, userId: string) =>
  event("payment.captured", { orderId, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "INV-1" }, orderId);
const failed = (orderId: string, userId: string) =>
  event("payment.failed", { orderId, userId, paymentId: randomUUID(), amount: money, reason: "insufficient balance" }, orderId);

async function newOrder() {
  const userId = randomUUID();
  return { userId, orderId: await placeOrder(subgraph, userId, [productId]) };
}

async function history(orderId: string) {
  return (await statusOf(subgraph, orderId)).statusHistory.map((change) => change.status);
}

async function outboxTypes(orderId: string): Promise<string[]> {
  const rows = await subgraph.runtime.orm.em
    .getConnection()
    .execute<{ type: string }[]>(`select type from outbox where correlation_id = ? order by id`, [orderId]);
  return rows.map((row) => row.type);
}

const mutate = (name: "cancelOrder" | "shipOrder" | "completeOrder", id: string, as: ReturnType<typeof asUser> | null, reason?: string) =>
  subgraph.gql<Record<string, { status: string }>>(
    name === "cancelOrder"
      ? `mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { status } }`
      : `mutation($id: ID!) { ${name}(id: $id) { status } }`,
    name === "cancelOrder" ? { id, reason } : { id },
    as,
  );

const staff = () => asUser(randomUUID(), "STAFF");
const admin = () => asUser(randomUUID(), "ADMIN");

describe("saga transitions", () => {
  test("happy path: reserved → confirmed → shipped → completed, each recorded with its cause and events", async () => {
    const { orderId, userId } = await newOrder();
    const reservation = reserved(orderId, userId);
    await deliver(subgraph, reservation);
    await deliver(subgraph, captured(orderId, userId));
    expect((await mutate("shipOrder", orderId, staff())).data?.shipOrder.status).toBe("SHIPPED");
    expect((await mutate("completeOrder", orderId, admin())).data?.completeOrder.status).toBe("COMPLETED");
    expect(await history(orderId)).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED", "SHIPPED", "COMPLETED"]);
    // Every change says why, the saga's own steps as well as a person's.
    expect((await statusOf(subgraph, orderId)).statusHistory.map((change) => change.reason)).toEqual([
      "order placed",
      "stock reserved",
      "payment captured",
      "shipped by staff",
      "completed by staff",
    ]);
    expect(await outboxTypes(orderId)).toEqual([
      "order.placed",
      "order.status_changed",
      "order.status_changed",
      "order.status_changed",
      "order.confirmed",
      "order.status_changed",
      "order.shipped",
      "order.status_changed",
      "order.completed",
    ]);
    const [cause] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ cause_event_id: string }[]>(`select cause_event_id from order_status_changes where order_id = ? and status = 'STOCK_RESERVED'`, [
        orderId,
      ]);
    expect(cause.cause_event_id).toBe(reservation.id);
    const [changed] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ payload: Record<string, any> }[]>(
        `select payload from outbox where correlation_id = ? and type = 'order.status_changed' order by id offset 1 limit 1`,
        [orderId],
      );
    expect(changed.payload.causationId).toBe(reservation.id);
    expect(changed.payload.payload).toMatchObject({ orderId, userId, status: "STOCK_RESERVED", previousStatus: "PENDING" });
  });

  test("inventory.rejected → OUT_OF_STOCK naming the short products", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, rejected(orderId, userId));
    const order = await statusOf(subgraph, orderId);
    expect(order.status).toBe("OUT_OF_STOCK");
    expect(order.failureReason).toBe(`insufficient stock (Widget (SKU-${productId.slice(0, 8)}): requested 1, available 0)`);
  });

  test("payment.failed → PAYMENT_FAILED with the payment's reason", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, reserved(orderId, userId));
    await deliver(subgraph, failed(orderId, userId));
    const order = await statusOf(subgraph, orderId);
    expect(order).toMatchObject({ status: "PAYMENT_FAILED", failureReason: "insufficient balance" });
  });
});

describe("late, duplicated and out-of-order events", () => {
  test("inventory.reserved twice records one change", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, reserved(orderId, userId));
    await deliver(subgraph, reserved(orderId, userId));
    expect(await history(orderId)).toEqual(["PENDING", "STOCK_RESERVED"]);
  });

  test("payment.captured after a cancellation leaves the order CANCELLED", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, reserved(orderId, userId));
    await mutate("cancelOrder", orderId, asUser(userId), "too slow");
    await deliver(subgraph, captured(orderId, userId));
    await deliver(subgraph, failed(orderId, userId));
    expect(await history(orderId)).toEqual(["PENDING", "STOCK_RESERVED", "CANCELLED"]);
  });

  test("payment.captured before inventory.reserved confirms through the reservation it implies; the late reservation is ignored", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, captured(orderId, userId));
    await deliver(subgraph, reserved(orderId, userId));
    expect(await history(orderId)).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED"]);
  });

  test("inventory.rejected after the reservation, or after OUT_OF_STOCK, changes nothing", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, reserved(orderId, userId));
    await deliver(subgraph, rejected(orderId, userId));
    expect((await statusOf(subgraph, orderId)).status).toBe("STOCK_RESERVED");
    const other = await newOrder();
    await deliver(subgraph, rejected(other.orderId, other.userId));
    await deliver(subgraph, reserved(other.orderId, other.userId));
    expect(await history(other.orderId)).toEqual(["PENDING", "OUT_OF_STOCK"]);
  });

  test("an event for an unknown order is ignored", async () => {
    await expect(deliver(subgraph, reserved(randomUUID(), randomUUID()))).resolves.toBeUndefined();
  });

  test("payment.refunded changes no status", async () => {
    const { orderId, userId } = await newOrder();
    await mutate("cancelOrder", orderId, asUser(userId));
    await deliver(subgraph, event("payment.refunded", { orderId, userId, paymentId: randomUUID(), amount: money }, orderId));
    expect(await history(orderId)).toEqual(["PENDING", "CANCELLED"]);
  });
});

describe("cancelOrder", () => {
  test("the owner cancels before shipping; the reason is recorded and order.cancelled emitted", async () => {
    const { orderId, userId } = await newOrder();
    const result = await mutate("cancelOrder", orderId, asUser(userId), "changed my mind");
    expect(result.data?.cancelOrder.status).toBe("CANCELLED");
    const order = await statusOf(subgraph, orderId);
    expect(order.statusHistory.at(-1)).toEqual({ status: "CANCELLED", reason: "changed my mind" });
    const [row] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ payload: Record<string, any> }[]>(`select payload from outbox where correlation_id = ? and type = 'order.cancelled'`, [orderId]);
    expect(row.payload.payload).toEqual({ orderId, userId, reason: "changed my mind", previousStatus: "PENDING", expired: false });
  });

  test("another customer is FORBIDDEN, anonymous UNAUTHENTICATED, unknown id NOT_FOUND", async () => {
    const { orderId } = await newOrder();
    expect((await mutate("cancelOrder", orderId, asUser(randomUUID()))).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await mutate("cancelOrder", orderId, null)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await mutate("cancelOrder", randomUUID(), staff())).errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", field: "id" });
    expect((await statusOf(subgraph, orderId)).status).toBe("PENDING");
  });

  test("STAFF and ADMIN cancel anyone's order, from STOCK_RESERVED and CONFIRMED", async () => {
    const first = await newOrder();
    await deliver(subgraph, reserved(first.orderId, first.userId));
    expect((await mutate("cancelOrder", first.orderId, staff())).data?.cancelOrder.status).toBe("CANCELLED");
    const second = await newOrder();
    await deliver(subgraph, captured(second.orderId, second.userId));
    expect((await mutate("cancelOrder", second.orderId, admin())).data?.cancelOrder.status).toBe("CANCELLED");
  });

  test("CONFLICT once shipped, and for terminal states", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, captured(orderId, userId));
    await mutate("shipOrder", orderId, staff());
    expect((await mutate("cancelOrder", orderId, asUser(userId))).errors?.[0].extensions?.code).toBe("CONFLICT");
    const out = await newOrder();
    await deliver(subgraph, rejected(out.orderId, out.userId));
    expect((await mutate("cancelOrder", out.orderId, staff())).errors?.[0].extensions?.code).toBe("CONFLICT");
    const twice = await newOrder();
    await mutate("cancelOrder", twice.orderId, asUser(twice.userId));
    expect((await mutate("cancelOrder", twice.orderId, asUser(twice.userId))).errors?.[0].extensions?.code).toBe("CONFLICT");
  });
});

describe("shipOrder and completeOrder", () => {
  test("only STAFF/ADMIN, only from CONFIRMED / SHIPPED", async () => {
    const { orderId, userId } = await newOrder();
    expect((await mutate("shipOrder", orderId, asUser(userId))).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await mutate("shipOrder", orderId, staff())).errors?.[0].extensions?.code).toBe("CONFLICT");
    expect((await mutate("completeOrder", orderId, staff())).errors?.[0].extensions?.code).toBe("CONFLICT");
    await deliver(subgraph, captured(orderId, userId));
    expect((await mutate("completeOrder", orderId, staff())).errors?.[0].extensions?.code).toBe("CONFLICT");
    await mutate("shipOrder", orderId, staff());
    expect((await mutate("completeOrder", orderId, asUser(userId))).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await mutate("shipOrder", orderId, staff())).errors?.[0].extensions?.code).toBe("CONFLICT");
    expect((await mutate("completeOrder", orderId, staff())).data?.completeOrder.status).toBe("COMPLETED");
  });

  test("record who moved the order in statusHistory, as cancelOrder does", async () => {
    const { orderId, userId } = await newOrder();
    await deliver(subgraph, captured(orderId, userId));
    await mutate("shipOrder", orderId, staff());
    await mutate("completeOrder", orderId, admin());
    const changes = (await statusOf(subgraph, orderId)).statusHistory.slice(-2);
    expect(changes).toEqual([
      { status: "SHIPPED", reason: "shipped by staff" },
      { status: "COMPLETED", reason: "completed by staff" },
    ]);
  });
});
