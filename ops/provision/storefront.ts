/**
 * Drives the platform through the gateway only, as a client would: sign-in, sign-up, products, orders.
 * Used by the e2e tests (through `@commerce/testing/e2e`) and the benchmarks.
 */
import { randomUUID } from "node:crypto";
import { GraphQLClient } from "./graphql-client";
import { DEMO_LOGINS } from "./platform";

export const ADMIN = { email: DEMO_LOGINS[0].email, password: DEMO_LOGINS[0].password };
export interface Account {
  id: string;
  email: string;
  token: string;
  client: GraphQLClient;
}

export async function login(gatewayUrl: string, email: string, password: string): Promise<Account> {
  const anonymous = new GraphQLClient(gatewayUrl);
  const { login } = await anonymous.request<{ login: { accessToken: string; user: { id: string } } }>(
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    { e: email, p: password },
  );
  return { id: login.user.id, email, token: login.accessToken, client: anonymous.withToken(login.accessToken) };
}

/** Registers a fresh customer (unique email); optionally promotes it with the admin's client. */
export async function signUp(gatewayUrl: string, admin?: Account, role?: "STAFF" | "ADMIN"): Promise<Account> {
  const email = `e2e-${randomUUID().slice(0, 8)}@example.com`;
  const anonymous = new GraphQLClient(gatewayUrl);
  const { register } = await anonymous.request<{ register: { accessToken: string; user: { id: string } } }>(
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { email, password: "e2e-password-123", name: "E2E Customer" } },
  );
  if (role && admin) {
    await admin.client.request(`mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }`, { id: register.user.id, role });
    return login(gatewayUrl, email, "e2e-password-123");
  }
  return { id: register.user.id, email, token: register.accessToken, client: anonymous.withToken(register.accessToken) };
}

let warehouse: Promise<string> | null = null;

/** Creates a product (ADMIN) with `stock` units in the one warehouse these helpers create. */
export async function createProduct(
  admin: Account,
  options: { price: number; stock: number; name?: string; lowStockThreshold?: number },
): Promise<string> {
  warehouse ??= admin.client
    .request<{ createWarehouse: { id: string } }>(`mutation($code: String!) { createWarehouse(code: $code, name: "E2E warehouse") { id } }`, {
      code: `E2E-${randomUUID().slice(0, 6)}`,
    })
    .then(
      ({ createWarehouse }) => createWarehouse.id,
      (error: unknown) => {
        warehouse = null;
        throw error;
      },
    );
  const warehouseId = await warehouse;
  const { createProduct } = await admin.client.request<{ createProduct: { id: string } }>(
    `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
    {
      input: {
        sku: `SKU-${randomUUID().slice(0, 8)}`,
        name: options.name ?? "E2E product",
        description: "made by an end-to-end test",
        price: { amount: options.price, currency: "USD" },
        attributes: [],
        lowStockThreshold: options.lowStockThreshold ?? 0,
      },
    },
  );
  if (options.stock > 0) {
    await admin.client.request(
      `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "e2e") { onHand } }`,
      { p: createProduct.id, w: warehouseId, d: options.stock },
    );
  }
  return createProduct.id;
}

export function resetE2eState(): void {
  warehouse = null;
}

export async function placeOrder(
  account: Account,
  items: { productId: string; quantity: number }[],
  extra: { name?: string; idempotencyKey?: string } = {},
) {
  const { placeOrder } = await account.client.request<{ placeOrder: { id: string; status: string; total: { amount: number } } }>(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status total { amount currency } } }`,
    { input: { items, ...extra } },
  );
  return placeOrder;
}

/** Polls `order(id)` until its status is one of `statuses`; returns the order. */
export async function waitForStatus(
  account: Account,
  orderId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<{ status: string; failureReason: string | null }> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const { order } = await account.client.request<{ order: { status: string; failureReason: string | null } }>(
      `query($id: ID!) { order(id: $id) { status failureReason } }`,
      { id: orderId },
    );
    last = order.status;
    if (statuses.includes(order.status)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} still ${last} after ${timeoutMs} ms, expected ${statuses.join("|")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
