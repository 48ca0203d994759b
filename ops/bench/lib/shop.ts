/**
 * A shop to benchmark against, set up through the gateway as a client would: products with plenty of
 * stock in one warehouse, and customers whose wallets hold enough for every order they will place.
 */
import { randomUUID } from "node:crypto";
import { GraphQLClient } from "../../provision/graphql-client";
import { DEMO_LOGINS } from "../../provision/platform";

export interface Shop {
  admin: GraphQLClient;
  productIds: string[];
  customers: { id: string; client: GraphQLClient }[];
}

export interface ShopOptions {
  products: number;
  customers: number;
  stockPerProduct: number;
  /** price of every product, minor units */
  price: number;
  /** the wallet balance every customer must have before orders start (the opening balance is set by env) */
  minBalance: number;
  log?: (line: string) => void;
}

/** Runs `work` over `items` with at most `concurrency` at once (registration hashes passwords: keep it low). */
async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

export async function setUpShop(gatewayUrl: string, options: ShopOptions): Promise<Shop> {
  const log = options.log ?? (() => undefined);
  const anonymous = new GraphQLClient(gatewayUrl);
  const admin = DEMO_LOGINS[0];
  const { login } = await anonymous.request<{ login: { accessToken: string } }>(
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
    { e: admin.email, p: admin.password },
  );
  const adminClient = anonymous.withToken(login.accessToken);
  const { createWarehouse } = await adminClient.request<{ createWarehouse: { id: string } }>(
    `mutation($code: String!) { createWarehouse(code: $code, name: "Bench warehouse") { id } }`,
    { code: `BENCH-${randomUUID().slice(0, 6)}` },
  );
  const productIds = await pool(
    Array.from({ length: options.products }, (_, i) => i),
    4,
    async (i) => {
      const { createProduct } = await adminClient.request<{ createProduct: { id: string } }>(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
        {
          input: {
            sku: `BENCH-${randomUUID().slice(0, 8)}`,
            name: `Bench product ${i}`,
            price: { amount: options.price, currency: "USD" },
            attributes: [],
            lowStockThreshold: 0,
          },
        },
      );
      await adminClient.request(
        `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "benchmark") { onHand } }`,
        { p: createProduct.id, w: createWarehouse.id, d: options.stockPerProduct },
      );
      return createProduct.id;
    },
  );
  log(`${productIds.length} products with ${options.stockPerProduct} units each`);
  const customers = await pool(
    Array.from({ length: options.customers }, (_, i) => i),
    4,
    async () => {
      const { register } = await anonymous.request<{ register: { accessToken: string; user: { id: string } } }>(
        `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
        { input: { email: `bench-${randomUUID().slice(0, 12)}@example.com`, password: "bench-password-123", name: "Bench Customer" } },
      );
      return { id: register.user.id, client: anonymous.withToken(register.accessToken) };
    },
  );
  log(`${customers.length} customers registered`);
  // Wallets open on user.registered: wait until each holds the balance the run needs.
  const deadline = Date.now() + 60_000;
  let short = customers;
  while (short.length > 0) {
    const balances = await pool(short, 8, async (c) => {
      const { me } = await c.client.request<{ me: { wallet: { balance: { amount: number } } } }>(`{ me { wallet { balance { amount } } } }`);
      return me.wallet.balance.amount;
    });
    short = short.filter((_, i) => balances[i]! < options.minBalance);
    if (short.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${short.length} wallets still hold less than ${options.minBalance} after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  log(`every wallet holds at least ${options.minBalance}`);
  return { admin: adminClient, productIds, customers };
}
