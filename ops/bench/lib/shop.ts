/**
 * A shop to benchmark against, set up through the gateway as a client would: products with plenty of
 * stock in one warehouse, and customers whose wallets hold enough for every order they will place.
 */
import pLimit from "p-limit";
import { ADMIN, createProduct, login, signUp, type GraphQLClient } from "../../provision";

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
function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const limit = pLimit(concurrency);
  return Promise.all(items.map((item) => limit(() => work(item))));
}

export async function setUpShop(gatewayUrl: string, options: ShopOptions): Promise<Shop> {
  const log = options.log ?? (() => undefined);
  const admin = await login(gatewayUrl, ADMIN.email, ADMIN.password);
  const productIds = await pool(
    Array.from({ length: options.products }, (_, i) => i),
    4,
    (i) => createProduct(admin, { price: options.price, stock: options.stockPerProduct, name: `Bench product ${i}` }),
  );
  log(`${productIds.length} products with ${options.stockPerProduct} units each`);
  const customers = await pool(
    Array.from({ length: options.customers }, (_, i) => i),
    4,
    () => signUp(gatewayUrl),
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
  return { admin: admin.client, productIds, customers };
}
