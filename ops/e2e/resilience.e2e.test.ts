/**
 * Resilience through the public API: a subgraph process that is down costs only its own fields (masked,
 * nothing internal in the error) and delays, never loses, the orders placed meanwhile; malformed entries
 * written straight to a stream end in the consuming services' dead letters without crashing or blocking
 * anyone; a subgraph too slow to read a request before its signature expires refuses it as retryable.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { DeadLetters, dlqKey, streamKey, type DeadLetter } from "@commerce/streams";
import { SIGNATURE_TTL_MS } from "@commerce/kit";
import { testInfra, smtpSink, SERVICES, type Platform, type ServiceName } from "@commerce/testing";
import { event, publish } from "@commerce/testing/events";
import { createProduct, eventually, placeOrder, signUp, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

const OPENING_BALANCE = 100000; // WALLET_OPENING_BALANCE of every throwaway platform

let platform: Platform;
let admin: Account;
let redis: Redis;
let deadLetters: DeadLetters;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin());
  redis = new Redis(testInfra().redisUrl, { maxRetriesPerRequest: 2 });
  deadLetters = new DeadLetters({ redis, prefix: platform.streamPrefix });
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await platform?.stop();
});

type GraphQLErrors = { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];

/**
 * The error a client gets for a failed subgraph call: INTERNAL_SERVER_ERROR with a reference, and
 * nothing that tells it how the platform is built (stack, SQL, host, port, URL, service name).
 */
function expectMaskedSubgraphFailure(errors: GraphQLErrors | undefined, stopped: ServiceName): void {
  expect(errors?.length).toBeGreaterThan(0);
  const port = String(platform.ports[stopped]);
  for (const error of errors!) {
    expect(error.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(Object.keys(error.extensions ?? {}).sort()).toEqual(["code", "errorId"]);
    expect(error.message).toBe(`Internal server error (reference ${error.extensions?.errorId}).`);
    const text = JSON.stringify({ message: error.message, extensions: error.extensions });
    expect(text).not.toContain(platform.urls[stopped]);
    expect(text).not.toContain(`:${port}`);
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|https?:\/\/|ECONNREFUSED|fetch failed|socket/i);
    expect(text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/); // a stack trace
    expect(text).not.toMatch(/\b(select|insert|update|delete)\b.*\b(from|into|set|where)\b/i); // SQL
    expect(text).not.toMatch(new RegExp(`\\b${stopped}\\b`, "i"));
  }
}

/** The process answers its liveness probe (it did not crash: the harness never restarts on its own). */
async function healthy(name: ServiceName): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${platform.ports[name]}/health`, { signal: AbortSignal.timeout(2_000) });
  return response.status === 200;
}

const balance = async (account: Account) =>
  (await account.client.request<{ me: { wallet: { balance: { amount: number } } } }>(`{ me { wallet { balance { amount } } } }`)).me.wallet.balance
    .amount;

describe("a subgraph process that is down", () => {
  it("costs only its own fields, masked, and delays the orders placed meanwhile without losing them", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 1234, stock: 5, name: "Outage Lantern" });
    expect(await balance(customer)).toBe(OPENING_BALANCE);

    await platform.kill("payment", "SIGTERM");
    try {
      // Nothing of payment's: answered in full.
      const placed = await placeOrder(customer, [{ productId, quantity: 2 }], { name: "placed during the outage" });
      expect(placed).toMatchObject({ status: "PENDING", total: { amount: 2468 } });
      const others = await customer.client.raw<{
        order: { status: string; items: { quantity: number; product: { name: string } }[]; user: { email: string } };
        products: { totalCount: number };
      }>(`query($id: ID!) { order(id: $id) { status items { quantity product { name } } user { email } } products(first: 1) { totalCount } }`, {
        id: placed.id,
      });
      expect(others.errors).toBeUndefined();
      expect(others.data?.order).toMatchObject({ items: [{ quantity: 2, product: { name: "Outage Lantern" } }], user: { email: customer.email } });
      expect(others.data?.products.totalCount).toBeGreaterThan(0);

      // Product reserves the stock; the charge waits on the stream for payment to come back.
      await waitForStatus(customer, placed.id, ["STOCK_RESERVED"]);

      // A nullable field of payment's: the rest of the order still comes back, the field is null.
      const withPayment = await customer.client.raw<{ order: { status: string; user: { email: string }; payment: unknown } }>(
        `query($id: ID!) { order(id: $id) { status user { email } payment { status } } }`,
        { id: placed.id },
      );
      expect(withPayment.data?.order).toEqual({ status: "STOCK_RESERVED", user: { email: customer.email }, payment: null });
      expectMaskedSubgraphFailure(withPayment.errors, "payment");
      expect(withPayment.errors).toHaveLength(1);

      // A non-null field of payment's (User.wallet) nulls `me`, but other root fields still answer.
      const withWallet = await customer.client.raw<{ me: unknown; product: { name: string } | null }>(
        `query($p: ID!) { me { email wallet { balance { amount } } } product(id: $p) { name } }`,
        { p: productId },
      );
      expect(withWallet.data).toEqual({ me: null, product: { name: "Outage Lantern" } });
      expectMaskedSubgraphFailure(withWallet.errors, "payment");

      // Still waiting, not failed or expired, while payment is down.
      const { order } = await customer.client.request<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, {
        id: placed.id,
      });
      expect(order.status).toBe("STOCK_RESERVED");
    } finally {
      await platform.start("payment");
    }

    const ids = (await customer.client.request<{ orders: { edges: { node: { id: string } }[] } }>(`{ orders { edges { node { id } } } }`)).orders
      .edges;
    expect(ids).toHaveLength(1);
    const orderId = ids[0].node.id;
    await waitForStatus(customer, orderId, ["CONFIRMED"]);
    const { order } = await customer.client.request<{
      order: {
        payment: { status: string; amount: { amount: number } };
        user: { wallet: { balance: { amount: number } } };
        statusHistory: { status: string }[];
      };
    }>(
      `query($id: ID!) { order(id: $id) { payment { status amount { amount } } user { wallet { balance { amount } } } statusHistory { status } } }`,
      { id: orderId },
    );
    expect(order.payment).toEqual({ status: "CAPTURED", amount: { amount: 2468 } });
    expect(order.statusHistory.map((change) => change.status)).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED"]);
    // Exactly one charge: the balance is down by the total once.
    expect(order.user.wallet.balance.amount).toBe(OPENING_BALANCE - 2468);
    // And it stays so once everything payment had queued up is handled (the confirmation e-mail comes last).
    await smtpSink.waitFor(customer.email, (message) => /confirm/i.test(message.subject ?? ""));
    expect(await balance(customer)).toBe(OPENING_BALANCE - 2468);
  }, 60_000);
});

describe("an overloaded subgraph", () => {
  it("refuses a request that queued past its signature's validity as retryable, unexecuted; the retry goes through", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 321, stock: 5, name: "Queue Lamp" });
    const place = () =>
      customer.client.raw<{ placeOrder: { id: string; status: string } }>(
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } } `,
        {
          input: { items: [{ productId, quantity: 1 }] },
        },
      );

    // Frozen, the order service reads the request only after its signature has expired: what a queue
    // more than SIGNATURE_TTL_MS long does to it.
    platform.signal("order", "SIGSTOP");
    let answer: Awaited<ReturnType<typeof place>>;
    try {
      const pending = place();
      await new Promise((resolve) => setTimeout(resolve, SIGNATURE_TTL_MS + 1_000));
      platform.signal("order", "SIGCONT");
      answer = await pending;
    } finally {
      platform.signal("order", "SIGCONT");
    }
    expect(answer.data).toBeNull();
    expect(answer.errors).toEqual([
      { message: expect.stringMatching(/overloaded.*retry/), extensions: { code: "SERVICE_UNAVAILABLE", retryable: true } },
    ]);
    expect(answer.errors?.[0]?.message).not.toMatch(/order|127\.0\.0\.1|http/i);
    // Nothing ran: the customer has no order, so retrying cannot place it twice.
    const count = async () => (await customer.client.request<{ orders: { totalCount: number } }>(`{ orders { totalCount } }`)).orders.totalCount;
    expect(await count()).toBe(0);

    const retried = await place();
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.placeOrder.status).toBe("PENDING");
    expect(await count()).toBe(1);
  }, 60_000);
});

describe("malformed entries on a stream", () => {
  it("are dead-lettered by every service that consumes them, and the stream keeps flowing", async () => {
    const orderStream = streamKey(platform.streamPrefix, "order");
    const before = Object.fromEntries(
      await Promise.all(SERVICES.map(async (svc) => [svc, await redis.xlen(dlqKey(platform.streamPrefix, svc))] as const)),
    );

    // Not JSON, under a type three services handle (product, payment and notification handle order.cancelled).
    const brokenId = randomUUID();
    const broken = (await redis.xadd(
      orderStream,
      "*",
      "id",
      brokenId,
      "type",
      "order.cancelled",
      "envelope",
      '{"id":"' + brokenId + '","type":"order.cancel',
    ))!;
    // A well-formed order.placed of a version no consumer knows (only product handles order.placed).
    const future = event("order.placed", {
      orderId: randomUUID(),
      userId: randomUUID(),
      items: [{ productId: randomUUID(), quantity: 1, unitPrice: { amount: 100, currency: "USD" } }],
      total: { amount: 100, currency: "USD" },
    });
    await publish(redis, platform.streamPrefix, { ...future, version: 99 } as unknown as typeof future); // no such contract: no such type
    // An entry with no type and no envelope at all: nobody can tell it is not for them.
    const bare = (await redis.xadd(orderStream, "*", "hello", "world"))!;
    const [[futureEntry]] = (await redis.xrange(orderStream, "-", "+")).filter(([, fields]) => fields.includes(future.id)) as [string, string[]][];

    const letters = async (svc: ServiceName, count: number) => {
      const list = await deadLetters.list(svc, { count: 100 });
      return list.length - before[svc] >= count ? list.slice(before[svc]) : null;
    };
    const byEntry = (list: DeadLetter[], entryId: string) => list.find((letter) => letter.entryId === entryId);

    const product = await eventually("product's dead letters", () => letters("product", 3));
    expect(product).toHaveLength(3);
    expect(byEntry(product, broken)).toMatchObject({ stream: orderStream, group: "product", type: "order.cancelled", attempts: 1 });
    expect(byEntry(product, broken)?.envelope).toContain(brokenId); // kept as it was, for an operator to read
    expect(byEntry(product, futureEntry)).toMatchObject({ stream: orderStream, type: "order.placed" });
    expect(byEntry(product, futureEntry)?.error).toMatch(/unknown version 99/);
    expect(byEntry(product, bare)).toMatchObject({ stream: orderStream, type: "unknown" });

    // Payment has no handler for order.placed: the future version is none of its business. Notification
    // reads order.placed (for the order's name), so it cannot read that version either.
    const payment = await eventually("payment's dead letters", () => letters("payment", 2));
    expect(payment.map((letter) => letter.entryId).sort()).toEqual([broken, bare].sort());
    expect(byEntry(payment, broken)).toMatchObject({ stream: orderStream, group: "payment" });
    const notification = await eventually("notification's dead letters", () => letters("notification", 3));
    expect(notification.map((letter) => letter.entryId).sort()).toEqual([broken, futureEntry, bare].sort());
    expect(byEntry(notification, futureEntry)?.error).toMatch(/unknown version 99/);
    // The user and order services do not read the order stream: nothing of theirs was touched.
    for (const svc of ["user", "order"] as const) expect(await redis.xlen(dlqKey(platform.streamPrefix, svc))).toBe(before[svc]);

    // Acknowledged (right after the dead letter is written, a separate step): no group holds them pending,
    // so nothing retries them forever.
    for (const group of ["product", "payment", "notification"]) {
      await eventually(`${group} to acknowledge the dead-lettered entries`, async () => {
        const pending = ((await redis.xpending(orderStream, group, "-", "+", 100)) as [string, string, number, number][]).map(([id]) => id);
        return [broken, futureEntry, bare].every((entryId) => !pending.includes(entryId));
      });
    }

    // No consumer crashed, and the saga goes through every one of them right after.
    for (const svc of SERVICES) expect(await healthy(svc)).toBe(true);
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 700, stock: 3 });
    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    await waitForStatus(customer, placed.id, ["CONFIRMED"]);
    const { order } = await customer.client.request<{ order: { payment: { status: string }; user: { wallet: { balance: { amount: number } } } } }>(
      `query($id: ID!) { order(id: $id) { payment { status } user { wallet { balance { amount } } } } }`,
      { id: placed.id },
    );
    expect(order).toEqual({ payment: { status: "CAPTURED" }, user: { wallet: { balance: { amount: OPENING_BALANCE - 700 } } } });
    await smtpSink.waitFor(customer.email, (message) => /confirm/i.test(message.subject ?? "")); // notification's consumer too
    for (const svc of SERVICES) expect(await healthy(svc)).toBe(true);
  }, 60_000);
});
