/**
 * What the drill's customers do: rich customers order in-stock products (some also a scarce one, so a
 * few orders end OUT_OF_STOCK), a customer with a small wallet orders until payment fails, and some
 * orders are cancelled by their customer shortly after placement. Every placement carries an
 * idempotency key, so a retried call after a lost answer returns the same order.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusinessError, FailoverClient } from './client';

export const ADMIN_LOGIN = { email: 'admin@example.com', password: 'admin-password-123' };

export interface Shop {
  admin: FailoverClient;
  rich: Customer[];
  poor: Customer;
  products: { plenty: string[]; scarce: string };
  /** units put in stock per product at setup */
  initialStock: Record<string, number>;
}

export interface Customer {
  id: string;
  client: FailoverClient;
  poor: boolean;
}

/** One order the workload asked for, and what it expects of it. */
export interface PlacedOrder {
  key: string;
  customer: Customer;
  /** null: placeOrder never succeeded within the client's deadline (a lost order) */
  id: string | null;
  scarce: boolean;
  /** `accepted`: cancelOrder succeeded; `refused`: CONFLICT (the saga had already ended it) */
  cancel: 'none' | 'pending' | 'accepted' | 'refused' | 'failed';
  error?: string;
}

async function login(base: FailoverClient, email: string, password: string): Promise<{ id: string; client: FailoverClient }> {
  const { login } = await base.request<{ login: { accessToken: string; user: { id: string } } }>(
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    { e: email, p: password },
  );
  return { id: login.user.id, client: base.withToken(login.accessToken) };
}

async function register(base: FailoverClient, poor: boolean): Promise<Customer> {
  const email = `chaos-${randomUUID().slice(0, 8)}@example.com`;
  const { register } = await base.request<{ register: { accessToken: string; user: { id: string } } }>(
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { email, password: 'chaos-password-123', name: poor ? 'Small Wallet' : 'Big Spender' } },
  );
  return { id: register.user.id, client: base.withToken(register.accessToken), poor };
}

/** Products, stock and customers (run before any fault). */
export async function setUpShop(base: FailoverClient, richCount = 4): Promise<Shop> {
  const admin = (await login(base, ADMIN_LOGIN.email, ADMIN_LOGIN.password)).client;
  const { createWarehouse } = await admin.request<{ createWarehouse: { id: string } }>(
    `mutation($code: String!) { createWarehouse(code: $code, name: "Chaos warehouse") { id } }`,
    { code: `CHAOS-${randomUUID().slice(0, 6)}` },
  );
  const initialStock: Record<string, number> = {};
  const product = async (name: string, price: number, stock: number) => {
    const { createProduct } = await admin.request<{ createProduct: { id: string } }>(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      { input: { sku: `CH-${randomUUID().slice(0, 8)}`, name, price: { amount: price, currency: 'USD' }, attributes: [], lowStockThreshold: 0 } },
    );
    await admin.request(
      `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "chaos drill") { onHand } }`,
      { p: createProduct.id, w: createWarehouse.id, d: stock },
    );
    initialStock[createProduct.id] = stock;
    return createProduct.id;
  };
  const plenty = [await product('Chaos Mug', 1500, 1_000_000), await product('Chaos Kettle', 2500, 1_000_000)];
  const scarce = await product('Chaos Limited Edition', 1000, 6);
  const rich: Customer[] = [];
  for (let i = 0; i < richCount; i += 1) {
    const customer = await register(base, false);
    await admin.request(`mutation($u: ID!) { topUpWallet(userId: $u, amount: { amount: 10000000, currency: "USD" }, reason: "chaos drill funds") { balance { amount } } }`, { u: customer.id });
    rich.push(customer);
  }
  const poor = await register(base, true);
  return { admin, rich, poor, products: { plenty, scarce }, initialStock };
}

/** The reason the drill's customers give when they cancel (an expiry has another). */
export const CANCEL_REASON = 'changed my mind';

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

/** Places one order (and maybe cancels it a moment later); never throws: failures are recorded on the result. */
async function placeOne(shop: Shop, cancelRate: number): Promise<PlacedOrder> {
  const customer = Math.random() < 0.2 ? shop.poor : pick(shop.rich);
  const scarce = !customer.poor && Math.random() < 0.1;
  const items = [{ productId: pick(shop.products.plenty), quantity: 1 + Math.floor(Math.random() * 3) }];
  if (scarce) items.push({ productId: shop.products.scarce, quantity: 1 + Math.floor(Math.random() * 2) });
  const placed: PlacedOrder = { key: randomUUID(), customer, id: null, scarce, cancel: Math.random() < cancelRate ? 'pending' : 'none' };
  try {
    const { placeOrder } = await customer.client.request<{ placeOrder: { id: string } }>(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`,
      { input: { items, idempotencyKey: placed.key, name: 'chaos' } },
    );
    placed.id = placeOrder.id;
  } catch (error) {
    placed.error = (error as Error).message;
    placed.cancel = 'none';
    return placed;
  }
  if (placed.cancel === 'pending') {
    await sleep(Math.random() * 1500);
    try {
      await customer.client.request(`mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { status } }`, { id: placed.id, reason: CANCEL_REASON });
      placed.cancel = 'accepted';
    } catch (error) {
      // CONFLICT on the first try: the saga ended the order first. On a retry it may also mean our own
      // earlier attempt committed; the final state (CANCELLED or not) tells which.
      placed.cancel = error instanceof BusinessError && error.code === 'CONFLICT' ? 'refused' : 'failed';
      if (placed.cancel === 'failed') placed.error = (error as Error).message;
    }
  }
  return placed;
}

/** `workers` loops placing orders until `until()` says stop; returns every attempt. */
export async function runWorkload(shop: Shop, options: { workers: number; pauseMs: number; cancelRate: number; until: () => boolean }): Promise<PlacedOrder[]> {
  const results: PlacedOrder[] = [];
  await Promise.all(
    Array.from({ length: options.workers }, async () => {
      while (!options.until()) {
        results.push(await placeOne(shop, options.cancelRate));
        await sleep(options.pauseMs);
      }
    }),
  );
  return results;
}
