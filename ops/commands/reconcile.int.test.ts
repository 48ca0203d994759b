/**
 * `reconcile()` and `orderStory()` against the real schemas of the five services (their own
 * migrations, on throwaway databases), with a consistent order and planted inconsistencies.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { Client } from "pg";
import pino from "pino";
import { auditEntities, auditMigrations, openDatabase, type SubgraphModule } from "@commerce/kit";
import { notificationSubgraph } from "@commerce/notification";
import { orderSubgraph } from "@commerce/order";
import { paymentSubgraph } from "@commerce/payment";
import { productSubgraph } from "@commerce/product";
import { dlqKey, streamsEntities, streamsMigrations } from "@commerce/streams";
import { userSubgraph } from "@commerce/user";
import { createTestDatabase, randomStreamPrefix, type TestDatabase } from "@commerce/testing";
import { reconcile } from "./reconcile";
import { formatStory, orderStory } from "./saga";
import type { DatabaseUrls } from "./targets";

const modules: Record<keyof DatabaseUrls, SubgraphModule<unknown>> = {
  user: userSubgraph as SubgraphModule<unknown>,
  product: productSubgraph as SubgraphModule<unknown>,
  order: orderSubgraph as SubgraphModule<unknown>,
  payment: paymentSubgraph as SubgraphModule<unknown>,
  notification: notificationSubgraph as SubgraphModule<unknown>,
};
const dbs: TestDatabase[] = [];
const urls = {} as DatabaseUrls;

async function sql(url: string, text: string, values: unknown[] = []) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  for (const [svc, module] of Object.entries(modules) as [keyof DatabaseUrls, SubgraphModule<unknown>][]) {
    const db = await createTestDatabase(`reconcile_${svc}`);
    dbs.push(db);
    urls[svc] = db.url;
    const orm = await openDatabase({
      databaseUrl: db.url,
      entities: [...module.entities, ...streamsEntities, ...auditEntities],
      migrations: [...streamsMigrations, ...auditMigrations, ...module.migrations],
      logger: pino({ level: "silent" }),
    });
    await orm.close(true);
  }
}, 120_000);
afterAll(() => Promise.all(dbs.map((db) => db.drop())));

const HOUR_AGO = new Date(Date.now() - 3600_000).toISOString();
const productId = randomUUID();
const warehouseId = randomUUID();

/** An order in `status`, placed and last changed an hour ago (or `at`). */
async function order(status: string, total: number, at = HOUR_AGO): Promise<string> {
  const id = randomUUID();
  await sql(
    urls.order,
    `insert into orders (id, user_id, status, total_amount, total_currency, created_at, updated_at, version) values ($1, $2, $3, $4, 'USD', $5, $5, 1)`,
    [id, randomUUID(), status, total, at],
  );
  return id;
}

/** A CONFIRMED order with everything the other services must hold for it. */
async function consistentPaidOrder(): Promise<{ orderId: string; userId: string }> {
  const orderId = await order("CONFIRMED", 1000);
  const [{ user_id: userId }] = await sql(urls.order, `select user_id from orders where id = $1`, [orderId]);
  await sql(urls.user, `insert into users (id, email, name, password_hash) values ($1, $2, 'Ann', 'x')`, [userId, `${userId}@example.com`]);
  await sql(
    urls.order,
    `insert into order_status_changes (order_id, status, previous_status, at) values ($1, 'PENDING', null, $2), ($1, 'CONFIRMED', 'PENDING', now())`,
    [orderId, HOUR_AGO],
  );
  const placedId = randomUUID();
  await sql(urls.order, `insert into outbox (event_id, type, stream, correlation_id, payload) values ($1, 'order.placed', 'order', $2, '{}')`, [
    placedId,
    orderId,
  ]);
  await sql(urls.product, `insert into processed_event (event_id, consumer_group) values ($1, 'product')`, [placedId]);
  const paymentId = randomUUID();
  await sql(urls.payment, `insert into wallets (user_id, balance_amount, currency) values ($1, 9000, 'USD')`, [userId]);
  await sql(
    urls.payment,
    `insert into payments (id, order_id, user_id, amount_minor, currency, status) values ($1, $2, $3, 1000, 'USD', 'CAPTURED')`,
    [paymentId, orderId, userId],
  );
  await sql(urls.payment, `insert into invoices (id, payment_id, number, amount_minor, currency) values ($1, $2, $3, 1000, 'USD')`, [
    randomUUID(),
    paymentId,
    `INV-${orderId.slice(0, 6)}`,
  ]);
  await sql(
    urls.payment,
    `insert into wallet_entries (id, wallet_id, kind, amount, currency, order_id, payment_id, created_by) values ($1, $3, 'OPENING', 10000, 'USD', null, null, 't'), ($2, $3, 'CAPTURE', -1000, 'USD', $4, $5, 't')`,
    [randomUUID(), randomUUID(), userId, orderId, paymentId],
  );
  await sql(
    urls.product,
    `insert into reservations (order_id, user_id, status, lines, created_at, updated_at) values ($1, $2, 'COMMITTED', $3, now(), now())`,
    [orderId, userId, JSON.stringify([{ productId, warehouseId, quantity: 1 }])],
  );
  await sql(
    urls.notification,
    `insert into notifications (id, user_id, order_id, channel, template, body, status, dedupe_key) values ($1, $2, $3, 'EMAIL', 'order_confirmed', 'hi', 'SENT', $4)`,
    [randomUUID(), userId, orderId, randomUUID()],
  );
  return { orderId, userId };
}

describe("reconcile", () => {
  let good: { orderId: string; userId: string };

  beforeAll(async () => {
    await sql(urls.product, `insert into warehouses (id, code, name, created_at) values ($1, 'W1', 'W', now())`, [warehouseId]);
    await sql(
      urls.product,
      `insert into products (id, sku, name, price_amount, price_currency, attributes, low_stock_threshold, active, created_at, updated_at) values ($1, 'SKU-1', 'P', 1000, 'USD', '[]', 0, true, now(), now())`,
      [productId],
    );
    await sql(urls.product, `insert into stock_levels (id, product_id, warehouse_id, on_hand, reserved) values ($1, $2, $3, 9, 0)`, [
      randomUUID(),
      productId,
      warehouseId,
    ]);
    good = await consistentPaidOrder();
  });

  test("finds nothing when every service agrees", async () => {
    expect(await reconcile(urls)).toEqual([]);
  });

  test("reports each broken invariant, and skips orders still in their grace period", async () => {
    const unpaid = await order("CONFIRMED", 2500);
    const cancelled = await order("CANCELLED", 2000);
    await sql(
      urls.product,
      `insert into reservations (order_id, user_id, status, lines, created_at, updated_at) values ($1, 'u', 'RESERVED', $2, now(), now())`,
      [cancelled, JSON.stringify([{ productId, warehouseId, quantity: 2 }])],
    );
    await sql(urls.payment, `insert into wallets (user_id, balance_amount, currency) values ('drifted', 500, 'USD')`);
    await sql(
      urls.payment,
      `insert into wallet_entries (id, wallet_id, kind, amount, currency, created_by) values ($1, 'drifted', 'OPENING', 400, 'USD', 't')`,
      [randomUUID()],
    );
    await sql(
      urls.notification,
      `insert into notifications (id, user_id, order_id, channel, template, body, status, dedupe_key) values ($1, $2, $3, 'EMAIL', 'order_confirmed', 'again', 'SENT', $4)`,
      [randomUUID(), good.userId, good.orderId, randomUUID()],
    );
    await order("CONFIRMED", 100, new Date().toISOString()); // in flight: nothing to say yet

    const found = (await reconcile(urls)).map((v) => `${v.check} ${v.subject}`).sort();
    expect(found).toEqual(
      [
        `paid-order-payment order ${unpaid}`,
        `paid-order-ledger order ${unpaid}`,
        `paid-order-reservation order ${unpaid}`,
        `paid-order-notification order ${unpaid}`,
        `failed-order-reservation order ${cancelled}`,
        `stock-reserved stock ${productId}@${warehouseId}`,
        `wallet-balance wallet drifted`,
        `duplicate-notification order ${good.orderId}`,
      ].sort(),
    );
  });
});

describe("reconcile and notification preferences", () => {
  test("a paid order without a confirmation is fine for a customer who turned every channel off, not for others", async () => {
    const silent = await consistentPaidOrder();
    const loud = await consistentPaidOrder();
    await sql(urls.notification, `delete from notifications where order_id in ($1, $2)`, [silent.orderId, loud.orderId]);
    await sql(urls.notification, `insert into preferences (user_id, email, in_app, sms) values ($1, false, false, false), ($2, true, false, false)`, [
      silent.userId,
      loud.userId,
    ]);
    const about = (orderId: string) => async () => (await reconcile(urls)).filter((v) => v.subject === `order ${orderId}`).map((v) => v.check);
    expect(await about(silent.orderId)()).toEqual([]);
    expect(await about(loud.orderId)()).toEqual(["paid-order-notification"]);
  });
});

describe("reconcile and returns", () => {
  /** A paid order of one unit (1,000) returned and refunded: `refunded` to the wallet, `restocked` units back. */
  async function returnedOrder(refunded: number[], restocked: number) {
    const { orderId, userId } = await consistentPaidOrder();
    const returnId = randomUUID();
    await sql(
      urls.order,
      `insert into order_items (id, order_id, line, product_id, quantity, unit_price_amount, unit_price_currency) values ($1, $2, 0, $3, 1, 1000, 'USD')`,
      [randomUUID(), orderId, productId],
    );
    await sql(
      urls.order,
      `insert into return_requests (id, order_id, user_id, status, lines, reason, warehouse_id, refund_amount, refund_currency, created_at, updated_at) values ($1, $2, $3, 'REFUNDED', $4, 'broken', $5, 1000, 'USD', $6, $6)`,
      [
        returnId,
        orderId,
        userId,
        JSON.stringify([{ productId, quantity: 1, unitPriceAmount: 1000, unitPriceCurrency: "USD" }]),
        warehouseId,
        HOUR_AGO,
      ],
    );
    await sql(
      urls.payment,
      `insert into return_refunds (return_id, order_id, payment_id, amount_minor, currency, created_at) values ($1, $2, null, 1000, 'USD', now())`,
      [returnId, orderId],
    );
    for (const amount of refunded) {
      await sql(
        urls.payment,
        `insert into wallet_entries (id, wallet_id, kind, amount, currency, order_id, return_id, created_by) values ($1, $2, 'REFUND', $3, 'USD', $4, $5, 't')`,
        [randomUUID(), userId, amount, orderId, randomUUID()],
      );
    }
    await sql(urls.payment, `update wallets set balance_amount = balance_amount + $2 where user_id = $1`, [
      userId,
      refunded.reduce((a, b) => a + b, 0),
    ]);
    await sql(urls.product, `insert into return_restocks (return_id, order_id, warehouse_id, lines, created_at) values ($1, $2, $3, $4, now())`, [
      returnId,
      orderId,
      warehouseId,
      JSON.stringify([{ productId, quantity: restocked }]),
    ]);
    return orderId;
  }
  const about = async (orderId: string) =>
    (await reconcile(urls))
      .filter((v) => v.subject.includes(orderId))
      .map((v) => `${v.check} ${v.subject}`)
      .sort();

  test("a paid order whose return was restocked and refunded in full balances", async () => {
    expect(await about(await returnedOrder([1000], 1))).toEqual([]);
  });

  test("refunds past the capture, and more units restocked than returned, are reported", async () => {
    const orderId = await returnedOrder([1000, 500], 2);
    expect(await about(orderId)).toEqual(
      [
        `paid-order-ledger order ${orderId}`,
        `refund-exceeds-capture order ${orderId}`,
        `restock-exceeds-returned order ${orderId} ${productId}`,
      ].sort(),
    );
  });
});

describe("orderStory", () => {
  test("tells one order's steps from every service and Redis, oldest first", async () => {
    const { orderId } = await consistentPaidOrder();
    const redisUrl = process.env.TEST_REDIS_URL!;
    const streamPrefix = randomStreamPrefix("saga");
    const redis = new Redis(redisUrl);
    await redis.xadd(
      dlqKey(streamPrefix, "notification"),
      "*",
      "type",
      "order.confirmed",
      "error",
      "boom",
      "attempts",
      "5",
      "envelope",
      JSON.stringify({ correlationId: orderId }),
      "failedAt",
      new Date().toISOString(),
    );
    redis.disconnect();

    const story = await orderStory({ databases: urls, redisUrl, streamPrefix }, orderId);
    expect(story.order).toMatchObject({ status: "CONFIRMED", total: "10.00 USD" });
    expect(story.order?.user).toMatch(/@example.com \(CUSTOMER\)/);
    const kinds = story.entries.map((e) => `${e.service}:${e.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "order:status",
        "order:emitted",
        "product:handled",
        "payment:payment",
        "payment:invoice",
        "payment:ledger",
        "product:reservation",
        "notification:notification",
        "redis:dead-letter",
      ]),
    );
    const times = story.entries.map((e) => e.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(formatStory(story)).toContain("order.confirmed dead-lettered for notification after 5 attempt(s): boom");
  });

  test("an unknown order says so", async () => {
    const story = await orderStory(
      { databases: urls, redisUrl: process.env.TEST_REDIS_URL!, streamPrefix: randomStreamPrefix("saga") },
      randomUUID(),
    );
    expect(story.order).toBeNull();
    expect(formatStory(story)).toContain("unknown to the order service");
  });
});

describe("reconcile and money coming in", () => {
  test("a top-up or credit without its audit row is flagged, and so are invoice lines that do not add up to the invoice", async () => {
    const [audited, unaudited] = [randomUUID(), randomUUID()];
    for (const wallet of [audited, unaudited]) {
      await sql(urls.payment, `insert into wallets (user_id, balance_amount, currency) values ($1, 700, 'USD')`, [wallet]);
      await sql(
        urls.payment,
        `insert into wallet_entries (id, wallet_id, kind, amount, currency, created_by, reason) values ($1, $3, 'TOP_UP', 500, 'USD', $3, null), ($2, $3, 'CREDIT', 200, 'USD', 'staff', 'goodwill')`,
        [randomUUID(), randomUUID(), wallet],
      );
    }
    await sql(
      urls.payment,
      `insert into audit_log (id, action, target_type, target_id, actor_kind, actor_id, correlation_id) values ($1, 'wallet.topped_up', 'Wallet', $3, 'USER', $3, 'r1'), ($2, 'wallet.credited', 'Wallet', $3, 'USER', 'staff', 'r2'), ($4, 'wallet.credited', 'Wallet', $5, 'USER', 'staff', 'r3')`,
      [randomUUID(), randomUUID(), audited, randomUUID(), unaudited],
    );
    const [good, bad] = [randomUUID(), randomUUID()];
    for (const [paymentId, number, lines] of [
      [good, `RC-${good.slice(0, 6)}`, [{ productId, productName: "Lamp", quantity: 2, unitPrice: { amount: 300, currency: "USD" } }]],
      [bad, `RC-${bad.slice(0, 6)}`, [{ productId, productName: "Lamp", quantity: 1, unitPrice: { amount: 300, currency: "USD" } }]],
    ] as const) {
      await sql(
        urls.payment,
        `insert into payments (id, order_id, user_id, amount_minor, currency, status) values ($1, $2, 'u', 600, 'USD', 'CAPTURED')`,
        [paymentId, randomUUID()],
      );
      await sql(urls.payment, `insert into invoices (id, payment_id, number, amount_minor, currency, lines) values ($1, $2, $3, 600, 'USD', $4)`, [
        randomUUID(),
        paymentId,
        number,
        JSON.stringify(lines),
      ]);
    }

    const found = (await reconcile(urls))
      .filter((v) => ["wallet-inflow-audit", "invoice-lines"].includes(v.check))
      .map((v) => `${v.check} ${v.subject}`)
      .sort();
    expect(found).toEqual([`invoice-lines invoice RC-${bad.slice(0, 6)}`, `wallet-inflow-audit wallet ${unaudited}`]);
  });
});
