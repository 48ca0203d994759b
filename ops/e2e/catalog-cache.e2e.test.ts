/**
 * The shared catalog cache (gateway/src/catalog-cache.ts) through the gateway: anonymous catalog
 * answers come from Redis, yet a price is never older than its committed change, `available`
 * follows stock changes made by mutations and by the saga, and a signed-in caller's answers are
 * never read from or written to a shared entry.
 */
import Redis from "ioredis";
import { type Platform } from "@commerce/testing";
import { createProduct, placeOrder, signUp, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

let platform: Platform;
let admin: Account;
let redis: Redis;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin());
  redis = new Redis(platform.env.REDIS_URL!);
}, 150_000);
afterAll(async () => {
  redis?.disconnect();
  await platform?.stop();
});

const PRODUCT = `query($id: ID!) { product(id: $id) { id name price { amount currency } available } }`;

interface Answer<T> {
  data: T;
  /** whether the gateway answered from the catalog cache (Apollo's response cache sets `age` on a hit) */
  cached: boolean;
}

async function query<T = any>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer<T>> {
  const response = await fetch(platform.gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  expect(response.headers.get("cache-control")).toBeNull(); // no client or CDN keeps a catalog answer
  return { data: body.data, cached: response.headers.has("age") };
}

/** Reads until the answer is served from the cache (the first read fills the entry). */
async function cachedRead<T>(text: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  await query<T>(text, variables);
  const second = await query<T>(text, variables);
  expect(second.cached).toBe(true);
  return second;
}

async function catalogEntries(): Promise<string[]> {
  return redis.keys(`${platform.streamPrefix}:catalog:fqc:*`);
}

test("an anonymous read after a committed price change shows the new price, never the cached one", async () => {
  const id = await createProduct(admin, { price: 1_000, stock: 5, name: "Cache kettle" });
  const before = await cachedRead<{ product: { price: { amount: number } } }>(PRODUCT, { id });
  expect(before.data.product.price.amount).toBe(1_000);

  for (const amount of [1_250, 1_300, 990]) {
    await admin.client.request(`mutation($id: ID!, $a: Int!) { updateProduct(id: $id, input: { price: { amount: $a, currency: "USD" } }) { id } }`, {
      id,
      a: amount,
    });
    // The very next read, with no pause: the mutation answered only after the catalog version moved on.
    const after = await query<{ product: { price: { amount: number } } }>(PRODUCT, { id });
    expect(after.cached).toBe(false);
    expect(after.data.product.price.amount).toBe(amount);
    expect((await query<{ product: { price: { amount: number } } }>(PRODUCT, { id })).data.product.price.amount).toBe(amount);
  }
});

test("available follows adjustStock at once and a saga's reservation within a second", async () => {
  const id = await createProduct(admin, { price: 500, stock: 10, name: "Cache teapot" });
  expect((await cachedRead<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(10);

  const { warehouses } = await admin.client.request<{ warehouses: { id: string }[] }>(`{ warehouses { id } }`);
  await admin.client.request(
    `mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 5, reason: "cache test") { onHand } }`,
    { p: id, w: warehouses[0]!.id },
  );
  expect((await query<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(15);
  expect((await cachedRead<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(15);

  // The reservation is committed by product's saga handler, not by a request: the catalog entry read above
  // must not outlive it by more than a second.
  const customer = await signUp(platform.gatewayUrl);
  const order = await placeOrder(customer, [{ productId: id, quantity: 4 }]);
  const deadline = Date.now() + 20_000;
  let reservedSeen: number | null = null;
  for (;;) {
    const { order: now } = await customer.client.request<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, {
      id: order.id,
    });
    // order leaves PENDING only after product committed the reservation (inventory.reserved)
    if (now.status !== "PENDING") {
      reservedSeen ??= Date.now();
      const { data } = await query<{ product: { available: number } }>(PRODUCT, { id });
      if (data.product.available === 11) break;
      expect(Date.now() - reservedSeen).toBeLessThanOrEqual(1_000);
    }
    if (Date.now() > deadline) throw new Error(`order ${order.id} still ${now.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await waitForStatus(customer, order.id, ["CONFIRMED"]);
  expect((await query<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(11);
});

test("signed-in callers never read or fill a shared entry, and private data is never cached", async () => {
  const hidden = await createProduct(admin, { price: 700, stock: 1, name: "Cache hidden lamp" });
  await admin.client.request(`mutation($id: ID!) { deleteProduct(id: $id) }`, { id: hidden });
  const staff = await signUp(platform.gatewayUrl, admin, "STAFF");
  const customer = await signUp(platform.gatewayUrl);
  const page = `{ products(first: 100) { edges { node { id name active } } } }`;
  type Page = { products: { edges: { node: { id: string } }[] } };
  const ids = (answer: Answer<Page>) => answer.data.products.edges.map((edge) => edge.node.id);

  // Anonymous: the deleted product is hidden, and the answer is shared.
  expect(ids(await cachedRead<Page>(page))).not.toContain(hidden);
  const entries = (await catalogEntries()).length;

  // STAFF sees deleted products: their answer is neither the anonymous entry nor stored for anyone.
  for (let i = 0; i < 2; i++) {
    const answer = await query<Page>(page, {}, staff.token);
    expect(answer.cached).toBe(false);
    expect(ids(answer)).toContain(hidden);
  }
  expect(ids(await query<Page>(page))).not.toContain(hidden);

  // A customer's own data and a signed-in catalog read alike: never from the cache, never into it.
  for (let i = 0; i < 2; i++) {
    const mine = await query<{ me: { email: string }; products: unknown }>(
      `{ me { email } products(first: 100) { edges { node { id name active } } } }`,
      {},
      customer.token,
    );
    expect(mine.cached).toBe(false);
    expect(mine.data.me.email).toBe(customer.email);
    expect((await query<Page>(page, {}, customer.token)).cached).toBe(false);
  }
  // Anonymous operations touching a subgraph that gives no cache hint (`me` is null for them) are not stored either.
  for (let i = 0; i < 2; i++) expect((await query(`{ me { email } products(first: 1) { totalCount } }`)).cached).toBe(false);
  expect((await catalogEntries()).length).toBe(entries);
});
