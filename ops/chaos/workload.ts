/**
 * What the drill's customers do: rich customers order in-stock products (some also a scarce one, so a
 * few orders end OUT_OF_STOCK), a customer with a small wallet orders until payment fails, and some
 * orders are cancelled by their customer shortly after placement. Every placement carries an
 * idempotency key, so a retried call after a lost answer returns the same order. Meanwhile a returns
 * worker ships some confirmed orders of rich customers, has their customer send back the first line,
 * and approves and receives the return as ADMIN.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { BusinessError, FailoverClient } from "./client";

export const ADMIN_LOGIN = { email: "admin@example.com", password: "admin-password-123" };

export interface Shop {
  admin: FailoverClient;
  rich: Customer[];
  poor: Customer;
  products: { plenty: string[]; scarce: string };
  /** price of each product, minor units */
  prices: Record<string, number>;
  /** where the drill's stock is, and where returns are received */
  warehouseId: string;
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
  cancel: "none" | "pending" | "accepted" | "refused" | "failed";
  items: { productId: string; quantity: number }[];
  /** set when the returns worker took the order: shipped, then its first line returned and received */
  returned?: ReturnAttempt;
  error?: string;
}

/** What the returns worker did with one order. */
export interface ReturnAttempt {
  /** null until requestReturn answered (or the order's returns showed it) */
  id: string | null;
  /** the last step that succeeded */
  step: "shipped" | "requested" | "approved" | "received";
  /** what receiving it must refund: the returned line's price × quantity */
  refund: number;
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
    { input: { email, password: "chaos-password-123", name: poor ? "Small Wallet" : "Big Spender" } },
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
      { input: { sku: `CH-${randomUUID().slice(0, 8)}`, name, price: { amount: price, currency: "USD" }, attributes: [], lowStockThreshold: 0 } },
    );
    await admin.request(
      `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "chaos drill") { onHand } }`,
      { p: createProduct.id, w: createWarehouse.id, d: stock },
    );
    initialStock[createProduct.id] = stock;
    return createProduct.id;
  };
  const plenty = [await product("Chaos Mug", 1500, 1_000_000), await product("Chaos Kettle", 2500, 1_000_000)];
  const scarce = await product("Chaos Limited Edition", 1000, 6);
  const rich: Customer[] = [];
  for (let i = 0; i < richCount; i += 1) {
    const customer = await register(base, false);
    await admin.request(
      `mutation($u: ID!) { topUpWallet(userId: $u, amount: { amount: 10000000, currency: "USD" }, reason: "chaos drill funds") { balance { amount } } }`,
      { u: customer.id },
    );
    rich.push(customer);
  }
  const poor = await register(base, true);
  const prices = { [plenty[0]]: 1500, [plenty[1]]: 2500, [scarce]: 1000 };
  return { admin, rich, poor, products: { plenty, scarce }, prices, warehouseId: createWarehouse.id, initialStock };
}

/** The reason the drill's customers give when they cancel (an expiry has another). */
export const CANCEL_REASON = "changed my mind";

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

/** Places one order (and maybe cancels it a moment later); never throws: failures are recorded on the result. */
async function placeOne(shop: Shop, cancelRate: number): Promise<PlacedOrder> {
  const customer = Math.random() < 0.2 ? shop.poor : pick(shop.rich);
  const scarce = !customer.poor && Math.random() < 0.1;
  const items = [{ productId: pick(shop.products.plenty), quantity: 1 + Math.floor(Math.random() * 3) }];
  if (scarce) items.push({ productId: shop.products.scarce, quantity: 1 + Math.floor(Math.random() * 2) });
  const placed: PlacedOrder = { key: randomUUID(), customer, id: null, scarce, items, cancel: Math.random() < cancelRate ? "pending" : "none" };
  try {
    const { placeOrder } = await customer.client.request<{ placeOrder: { id: string } }>(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`,
      { input: { items, idempotencyKey: placed.key, name: "chaos" } },
    );
    placed.id = placeOrder.id;
  } catch (error) {
    placed.error = (error as Error).message;
    placed.cancel = "none";
    return placed;
  }
  if (placed.cancel === "pending") {
    await sleep(Math.random() * 1500);
    try {
      await customer.client.request(`mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { status } }`, {
        id: placed.id,
        reason: CANCEL_REASON,
      });
      placed.cancel = "accepted";
    } catch (error) {
      // CONFLICT on the first try: the saga ended the order first. On a retry it may also mean our own
      // earlier attempt committed; the final state (CANCELLED or not) tells which.
      placed.cancel = error instanceof BusinessError && error.code === "CONFLICT" ? "refused" : "failed";
      if (placed.cancel === "failed") placed.error = (error as Error).message;
    }
  }
  return placed;
}

/** Runs a mutation whose retry after a lost answer says CONFLICT once the first attempt committed. */
async function once(client: FailoverClient, query: string, variables: Record<string, unknown>): Promise<void> {
  try {
    await client.request(query, variables);
  } catch (error) {
    if (!(error instanceof BusinessError && error.code === "CONFLICT")) throw error;
  }
}

/**
 * Ships a CONFIRMED order and returns its first line in full: request (as its customer), approve and
 * receive (as ADMIN). Every call may be retried by the client after a lost answer: a second request
 * finds nothing left to return (the order's returns then say which one was made), a second approval
 * or receipt is a CONFLICT. Never throws: the attempt records how far it got.
 */
async function returnOne(shop: Shop, order: PlacedOrder): Promise<void> {
  const line = order.items[0];
  const attempt: ReturnAttempt = { id: null, step: "shipped", refund: shop.prices[line.productId] * line.quantity };
  const { order: current } = await shop.admin.request<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, {
    id: order.id,
  });
  if (current.status !== "CONFIRMED") return;
  order.returned = attempt;
  try {
    await once(shop.admin, `mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: order.id });
    try {
      const { requestReturn } = await order.customer.client.request<{ requestReturn: { id: string } }>(
        `mutation($input: RequestReturnInput!) { requestReturn(input: $input) { id } }`,
        { input: { orderId: order.id, lines: [line], reason: "chaos drill return" } },
      );
      attempt.id = requestReturn.id;
    } catch (error) {
      if (!(error instanceof BusinessError && error.code === "BAD_USER_INPUT")) throw error;
      const { order: found } = await order.customer.client.request<{ order: { returns: { id: string }[] } }>(
        `query($id: ID!) { order(id: $id) { returns { id } } }`,
        { id: order.id },
      );
      if (found.returns.length !== 1) throw error;
      attempt.id = found.returns[0].id;
    }
    attempt.step = "requested";
    await once(shop.admin, `mutation($id: ID!) { approveReturn(id: $id) { status } }`, { id: attempt.id });
    attempt.step = "approved";
    // Receiving checks the warehouse with the product subgraph: while no product replica answers, it asks for a retry.
    for (let tries = 1; ; tries += 1) {
      try {
        await once(shop.admin, `mutation($id: ID!, $w: ID!) { receiveReturn(id: $id, warehouseId: $w) { status } }`, {
          id: attempt.id,
          w: shop.warehouseId,
        });
        break;
      } catch (error) {
        if (!(error instanceof BusinessError && /retry in a moment/.test(error.message)) || tries >= 30) throw error;
        await sleep(1000);
      }
    }
    attempt.step = "received";
  } catch (error) {
    attempt.error = (error as Error).message;
  }
}

/**
 * `workers` loops placing orders until `until()` says stop, while one more loop returns some of the
 * confirmed ones (an order of a rich customer, not cancelled, placed a few seconds before); returns
 * every placement.
 */
export async function runWorkload(
  shop: Shop,
  options: { workers: number; pauseMs: number; cancelRate: number; returnRate?: number; until: () => boolean },
): Promise<PlacedOrder[]> {
  const results: PlacedOrder[] = [];
  const returnRate = options.returnRate ?? 0.15;
  const returnable: PlacedOrder[] = [];
  const returns = async () => {
    while (!options.until()) {
      await sleep(1000);
      const order = returnable.shift();
      if (order) await returnOne(shop, order).catch(() => undefined);
    }
  };
  await Promise.all([
    returns(),
    ...Array.from({ length: options.workers }, async () => {
      while (!options.until()) {
        const placed = await placeOne(shop, options.cancelRate);
        results.push(placed);
        if (placed.id && placed.cancel === "none" && !placed.customer.poor && !placed.scarce && Math.random() < returnRate) returnable.push(placed);
        await sleep(options.pauseMs);
      }
    }),
  ]);
  return results;
}
