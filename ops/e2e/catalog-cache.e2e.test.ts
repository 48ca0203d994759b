/**
 * The shared catalog cache (gateway/src/catalog-cache.ts) through the gateway: anonymous catalog
 * answers come from Redis, yet a price or name is never older than its committed change, `available`
 * (stock, which bumps no catalog version) is never more than a second old, orders flowing leave the
 * other entries hitting, and a signed-in caller's answers are never read from or written to a shared entry.
 */
import Redis from "ioredis";
import { catalogVersionKey } from "@commerce/kit";
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
/** No stock in it: its entry lives the full 30 s unless the catalog version moves. */
const NAME_PRICE = `query($id: ID!) { product(id: $id) { id name price { amount currency } } }`;

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

/** The milliseconds left to the entry a first anonymous read of `text` fills (it must fill exactly one). */
async function entryLifeMs(text: string, variables: Record<string, unknown> = {}): Promise<number> {
  const before = new Set(await catalogEntries());
  expect((await query(text, variables)).cached).toBe(false);
  // Apollo stores the entry after answering.
  for (let i = 0; i < 100; i++) {
    const added = (await catalogEntries()).filter((key) => !before.has(key));
    if (added.length) {
      expect(added).toHaveLength(1);
      return redis.pttl(added[0]!);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no catalog entry was filled by ${text}`);
}

const catalogVersion = async () => (await redis.get(catalogVersionKey(platform.streamPrefix))) ?? "0";

/** `gateway_catalog_cache_lookups_total{result}` of the gateway. */
async function lookups(result: "hit" | "miss"): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${platform.ports.gateway}/metrics`)).text();
  const match = new RegExp(`^gateway_catalog_cache_lookups_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

test("an anonymous read after a committed price or name change shows it, never the cached answer", async () => {
  const id = await createProduct(admin, { price: 1_000, stock: 5, name: "Cache kettle" });
  type Read = { product: { name: string; price: { amount: number } } };
  const before = await cachedRead<Read>(NAME_PRICE, { id });
  expect(before.data.product.price.amount).toBe(1_000);

  const changes = [{ price: 1_250 }, { name: "Cache kettle, copper" }, { price: 990 }, { name: "Cache kettle, steel" }];
  for (const change of changes) {
    const input = change.price ? `{ price: { amount: ${change.price}, currency: "USD" } }` : `{ name: ${JSON.stringify(change.name)} }`;
    const version = await catalogVersion();
    await admin.client.request(`mutation($id: ID!) { updateProduct(id: $id, input: ${input}) { id } }`, { id });
    expect(await catalogVersion()).not.toBe(version);
    // The very next read, with no pause: the mutation answered only after the catalog version moved on.
    const after = await query<Read>(NAME_PRICE, { id });
    expect(after.cached).toBe(false);
    if (change.price) expect(after.data.product.price.amount).toBe(change.price);
    else expect(after.data.product.name).toBe(change.name);
    expect((await cachedRead<Read>(NAME_PRICE, { id })).data).toEqual(after.data);
  }

  // A new category shows in `categories` at once too.
  await cachedRead(`{ categories { id name } }`);
  const name = `Cache shelf ${Date.now()}`;
  await admin.client.request(`mutation($n: String!) { createCategory(name: $n) { id } }`, { n: name });
  const categories = await query<{ categories: { name: string }[] }>(`{ categories { id name } }`);
  expect(categories.cached).toBe(false);
  expect(categories.data.categories.map((category) => category.name)).toContain(name);
});

test("answers showing stock live at most a second, counted from the read; others the full 30 s", async () => {
  const id = await createProduct(admin, { price: 400, stock: 3, name: "Cache jug" });
  // -2: already expired (a slow machine); -1 would be an entry that never expires.
  for (const stockLife of [
    await entryLifeMs(PRODUCT, { id }),
    await entryLifeMs(`{ products(filter: { inStock: true }, first: 100) { edges { node { id name } } } }`),
  ]) {
    expect(stockLife).not.toBe(-1);
    expect(stockLife).toBeLessThanOrEqual(1_000);
  }
  expect(await entryLifeMs(NAME_PRICE, { id })).toBeGreaterThan(25_000);
  expect(await entryLifeMs(`{ products(first: 100) { totalCount edges { node { id name price { amount } } } } }`)).toBeGreaterThan(25_000);
});

test("stock changes bump no version: available is fresh within a second, stock-free entries keep hitting", async () => {
  const id = await createProduct(admin, { price: 500, stock: 10, name: "Cache teapot" });
  const page = `{ products(first: 100) { edges { node { id name price { amount } } } } }`;
  expect((await cachedRead<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(10);
  await cachedRead(NAME_PRICE, { id });
  await cachedRead(page);
  const version = await catalogVersion();

  /** Reads `available` until it shows `expected`, within a second of `since`. */
  async function availableWithinASecond(expected: number, since: number): Promise<void> {
    for (;;) {
      const { data } = await query<{ product: { available: number } }>(PRODUCT, { id });
      if (data.product.available === expected) return;
      expect(Date.now() - since).toBeLessThanOrEqual(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const { warehouses } = await admin.client.request<{ warehouses: { id: string }[] }>(`{ warehouses { id } }`);
  await admin.client.request(
    `mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 5, reason: "cache test") { onHand } }`,
    { p: id, w: warehouses[0]!.id },
  );
  await availableWithinASecond(15, Date.now());

  // The reservation is committed by product's saga handler, not by a request.
  const customer = await signUp(platform.gatewayUrl);
  const order = await placeOrder(customer, [{ productId: id, quantity: 4 }]);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { order: now } = await customer.client.request<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, {
      id: order.id,
    });
    // order leaves PENDING only after product committed the reservation (inventory.reserved)
    if (now.status !== "PENDING") break;
    if (Date.now() > deadline) throw new Error(`order ${order.id} still ${now.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await availableWithinASecond(11, Date.now());
  await waitForStatus(customer, order.id, ["CONFIRMED"]);
  expect((await query<{ product: { available: number } }>(PRODUCT, { id })).data.product.available).toBe(11);

  // Adjustment, reservation and its commit on payment: the version never moved, so the entries
  // filled before them (30 s, no stock in them) are still the ones served.
  expect(await catalogVersion()).toBe(version);
  const hits = await lookups("hit");
  expect((await query(NAME_PRICE, { id })).cached).toBe(true);
  expect((await query(page)).cached).toBe(true);
  expect(await lookups("hit")).toBe(hits + 2);
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
  const entries = new Set(await catalogEntries());

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
  // Nothing stored since (entries of earlier tests may expire meanwhile: only new keys count).
  expect((await catalogEntries()).filter((key) => !entries.has(key))).toEqual([]);
});
