import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { deliver, event, eventually, placeOrder, seedProduct, statusOf, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";
import { EXPIRY_REASON, expireStaleOrders } from "./expire-orders";

const money = { amount: 100, currency: "USD" };

describe("the saga deadline job", () => {
  let subgraph: OrderTestSubgraph;
  beforeAll(async () => {
    // A deadline no slow test machine reaches by accident; orders are made old by backdating them.
    subgraph = await startOrderSubgraph({ SAGA_DEADLINE_MS: "60000", SAGA_EXPIRY_SWEEP_MS: "100" });
  });
  afterAll(() => subgraph?.stop());

  test("cancels orders stuck in PENDING or STOCK_RESERVED past the deadline, as expired, and leaves the rest", async () => {
    const productId = await seedProduct(subgraph, { amount: 100 });
    const userId = randomUUID();
    const pending = await placeOrder(subgraph, userId, [productId]);
    const reserved = await placeOrder(subgraph, userId, [productId]);
    const confirmed = await placeOrder(subgraph, userId, [productId]);
    const fresh = await placeOrder(subgraph, userId, [productId]);
    await deliver(subgraph, event("inventory.reserved", { orderId: reserved, userId, total: money, items: [{ productId, quantity: 1 }] }, reserved));
    await deliver(
      subgraph,
      event("payment.captured", { orderId: confirmed, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "I-1" }, confirmed),
    );
    await subgraph.runtime.orm.em
      .getConnection()
      .execute(`update orders set created_at = now() - interval '2 minutes' where id in (?, ?, ?)`, [pending, reserved, confirmed]);

    for (const id of [pending, reserved]) {
      const order = await eventually(`order ${id} to expire`, async () => {
        const found = await statusOf(subgraph, id);
        return found.status === "CANCELLED" && found;
      });
      expect(order.statusHistory.at(-1)).toEqual({ status: "CANCELLED", reason: EXPIRY_REASON });
    }
    expect((await statusOf(subgraph, confirmed)).status).toBe("CONFIRMED");
    // Placed just now: well inside the deadline, untouched.
    expect((await statusOf(subgraph, fresh)).status).toBe("PENDING");
    const rows = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ payload: Record<string, any> }[]>(`select payload from outbox where type = 'order.cancelled' and correlation_id = ?`, [reserved]);
    expect(rows.map((row) => row.payload.payload)).toEqual([
      { orderId: reserved, userId, reason: EXPIRY_REASON, previousStatus: "STOCK_RESERVED", expired: true },
    ]);
    // The audit log names the job as the actor, correlated by the order id.
    const audited = await subgraph.runtime.orm.em
      .getConnection()
      .execute<Record<string, unknown>[]>(
        `select action, target_type, actor_kind, actor_id, actor_role, correlation_id, details, at from audit_log where target_id = ?`,
        [reserved],
      );
    expect(Date.now() - Date.parse(String(audited[0]?.at))).toBeLessThan(60_000);
    expect(audited).toEqual([
      {
        action: "order.cancelled",
        target_type: "Order",
        actor_kind: "JOB",
        actor_id: "saga-deadline",
        actor_role: null,
        correlation_id: reserved,
        details: { reason: EXPIRY_REASON, previousStatus: "STOCK_RESERVED", ownerId: userId, expired: true },
        at: expect.anything(),
      },
    ]);
  });
});

describe("expireStaleOrders", () => {
  let subgraph: OrderTestSubgraph;
  beforeAll(async () => {
    // A deadline the background job never reaches: the sweeps below are the only ones.
    subgraph = await startOrderSubgraph({ SAGA_DEADLINE_MS: "3600000" });
  });
  afterAll(() => subgraph?.stop());

  const later = () => new Date(Date.now() + 2 * 3600_000);
  const fork = () => subgraph.runtime.orm.em.fork() as EntityManager;

  test("orders inside the deadline are left alone", async () => {
    const productId = await seedProduct(subgraph);
    const id = await placeOrder(subgraph, randomUUID(), [productId]);
    expect(await expireStaleOrders(subgraph.runtime, fork(), new Date())).toBe(0);
    expect((await statusOf(subgraph, id)).status).toBe("PENDING");
  });

  test("concurrent sweeps (several replicas) expire each order exactly once", async () => {
    const productId = await seedProduct(subgraph);
    const userId = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push(await placeOrder(subgraph, userId, [productId]));
    const conn = subgraph.runtime.orm.em.getConnection();
    const [{ open }] = await conn.execute<{ open: string }[]>(`select count(*) as open from orders where status in ('PENDING', 'STOCK_RESERVED')`);
    const counts = await Promise.all([1, 2, 3].map(() => expireStaleOrders(subgraph.runtime, fork(), later())));
    // Other tests' open orders are swept too: every open order once, none twice.
    expect(counts.reduce((a, b) => a + b, 0)).toBe(Number(open));
    const [{ n }] = await conn.execute<{ n: string }[]>(
      `select count(*) as n from order_status_changes c join orders o on o.id = c.order_id where o.user_id = ? and c.status = 'CANCELLED'`,
      [userId],
    );
    expect(Number(n)).toBe(12);
  });

  test("skips an order locked by someone else; the next sweep gets it", async () => {
    const productId = await seedProduct(subgraph);
    const userId = randomUUID();
    const locked = await placeOrder(subgraph, userId, [productId]);
    const free = await placeOrder(subgraph, userId, [productId]);
    const holder = fork();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let markLocked!: () => void;
    const isLocked = new Promise<void>((resolve) => (markLocked = resolve));
    const holding = holder.transactional(async (tx) => {
      await tx.getConnection().execute(`select id from orders where id = ? for update`, [locked], "all", tx.getTransactionContext());
      markLocked();
      await released;
    });
    await isLocked;
    expect(await expireStaleOrders(subgraph.runtime, fork(), later())).toBe(1);
    expect((await statusOf(subgraph, free)).status).toBe("CANCELLED");
    expect((await statusOf(subgraph, locked)).status).toBe("PENDING");
    release();
    await holding;
    expect(await expireStaleOrders(subgraph.runtime, fork(), later())).toBe(1);
    expect((await statusOf(subgraph, locked)).status).toBe("CANCELLED");
  });
});
