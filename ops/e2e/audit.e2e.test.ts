/**
 * The audit log through the gateway: each audited operation leaves one row
 * saying who, what, when and under which correlation id, ADMIN alone can read
 * it, and no service can rewrite it.
 */
import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { SERVICES, startPlatform, type Platform } from "@commerce/testing";
import { ADMIN, createProduct, eventually, login, placeOrder, resetE2eState, signUp, testCard, waitForStatus, type Account } from "@commerce/testing/e2e";

let platform: Platform;
let admin: Account;
let staff: Account;
let customer: Account;

beforeAll(async () => {
  resetE2eState();
  platform = await startPlatform({ env: { AUTH_RATE_LIMIT_PER_MINUTE: "1000" } });
  admin = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
  [staff, customer] = await Promise.all([signUp(platform.gatewayUrl, admin, "STAFF"), signUp(platform.gatewayUrl)]);
}, 150_000);
afterAll(() => platform?.stop());

/** Calls the gateway as `account` with our own request id, which becomes the audit row's correlation id. */
async function call<T = any>(account: Account, query: string, variables: Record<string, unknown> = {}, requestId = randomUUID()): Promise<{ data: T; requestId: string }> {
  const response = await fetch(platform.gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${account.token}`, "x-request-id": requestId },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return { data: body.data, requestId };
}

interface Entry {
  at: string;
  action: string;
  targetType: string;
  targetId: string;
  actorKind: string;
  actorId: string;
  actorRole: string | null;
  correlationId: string;
  details: Record<string, any>;
}

const ENTRY = `at action targetType targetId actorKind actorId actorRole correlationId details`;

async function auditLog(field: string, filter: Record<string, string>, as: Account = admin): Promise<Entry[]> {
  const { data } = await call(as, `query($f: AuditLogFilter) { ${field}(filter: $f, first: 100) { totalCount edges { node { ${ENTRY} } } } }`, { f: filter });
  return data[field].edges.map((edge: { node: Entry }) => edge.node);
}

/** Asserts the row was written between `since` and now. */
function expectRecent(entry: Entry, since: number) {
  const at = Date.parse(entry.at);
  expect(at).toBeGreaterThanOrEqual(since - 1000);
  expect(at).toBeLessThanOrEqual(Date.now() + 1000);
}

describe("the audit log", () => {
  it("records a role change: the ADMIN, before/after, the request id", async () => {
    const since = Date.now();
    const target = await signUp(platform.gatewayUrl);
    const { requestId } = await call(admin, `mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { id } }`, { id: target.id });
    const [entry] = await auditLog("userAuditLog", { action: "user.role_changed", targetId: target.id });
    expect(entry).toMatchObject({
      targetType: "User",
      actorKind: "USER",
      actorId: admin.id,
      actorRole: "ADMIN",
      correlationId: requestId,
      details: { before: "CUSTOMER", after: "STAFF", email: target.email },
    });
    expectRecent(entry, since);
  });

  it("records a stock adjustment and a price change, with before/after", async () => {
    const since = Date.now();
    const productId = await createProduct(admin, { price: 1500, stock: 0 });
    const { data } = await call(admin, `{ warehouses { id code } }`);
    const warehouse = data.warehouses[0];
    const adjusted = await call(staff, `mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 7, reason: "delivery 42") { onHand } }`, {
      p: productId,
      w: warehouse.id,
    });
    const [stock] = await auditLog("productAuditLog", { action: "stock.adjusted", targetId: productId });
    expect(stock).toMatchObject({
      targetType: "Product",
      actorKind: "USER",
      actorId: staff.id,
      actorRole: "STAFF",
      correlationId: adjusted.requestId,
      details: { warehouseId: warehouse.id, warehouseCode: warehouse.code, delta: 7, reason: "delivery 42", onHandBefore: 0, onHandAfter: 7, reserved: 0 },
    });
    expectRecent(stock, since);

    const repriced = await call(admin, `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 1800, currency: "USD" } }) { id } }`, { id: productId });
    // An update that leaves the price as it is records nothing.
    await call(admin, `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 1800, currency: "USD" }, name: "renamed" }) { id } }`, { id: productId });
    const prices = await auditLog("productAuditLog", { action: "product.price_changed", targetId: productId });
    expect(prices).toHaveLength(1);
    expect(prices[0]).toMatchObject({
      actorId: admin.id,
      actorRole: "ADMIN",
      correlationId: repriced.requestId,
      details: { before: { amount: 1500, currency: "USD" }, after: { amount: 1800, currency: "USD" } },
    });
    expectRecent(prices[0], since);
  });

  it("records a card top-up: who funded which wallet, by how much, the balance before and after, the card's last digits", async () => {
    const since = Date.now();
    const { requestId } = await call(
      customer,
      `mutation($u: ID!, $card: CardInput!) { topUpWallet(userId: $u, amount: { amount: 2500, currency: "USD" }, card: $card) { balance { amount } } }`,
      { u: customer.id, card: testCard() },
    );
    const [entry] = await auditLog("paymentAuditLog", { action: "wallet.topped_up", targetId: customer.id });
    expect(entry).toMatchObject({ targetType: "Wallet", actorKind: "USER", actorId: customer.id, actorRole: "CUSTOMER", correlationId: requestId });
    expect(entry.details).toEqual({
      amount: { amount: 2500, currency: "USD" },
      balanceBefore: { amount: expect.any(Number), currency: "USD" },
      balanceAfter: { amount: entry.details.balanceBefore.amount + 2500, currency: "USD" },
      cardLast4: "4242",
      processorReference: expect.stringMatching(/^sim_/),
    });
    expectRecent(entry, since);
  });

  it("records a STAFF credit with its reason", async () => {
    const since = Date.now();
    const { requestId } = await call(
      staff,
      `mutation($u: ID!) { topUpWallet(userId: $u, amount: { amount: 1200, currency: "USD" }, reason: "parcel lost in transit") { balance { amount } } }`,
      { u: customer.id },
    );
    const [entry] = await auditLog("paymentAuditLog", { action: "wallet.credited", targetId: customer.id });
    expect(entry).toMatchObject({ targetType: "Wallet", actorKind: "USER", actorId: staff.id, actorRole: "STAFF", correlationId: requestId });
    expect(entry.details).toEqual({
      amount: { amount: 1200, currency: "USD" },
      reason: "parcel lost in transit",
      balanceBefore: { amount: expect.any(Number), currency: "USD" },
      balanceAfter: { amount: entry.details.balanceBefore.amount + 1200, currency: "USD" },
    });
    expectRecent(entry, since);
  });

  it("records a cancellation (by whom, why) and the refund it caused, both under the order id", async () => {
    const since = Date.now();
    const productId = await createProduct(admin, { price: 900, stock: 5 });
    const order = await placeOrder(customer, [{ productId, quantity: 2 }]);
    await waitForStatus(customer, order.id, ["CONFIRMED"]);
    await call(customer, `mutation($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { status } }`, { id: order.id });

    const [cancelled] = await auditLog("orderAuditLog", { correlationId: order.id });
    expect(cancelled).toMatchObject({
      action: "order.cancelled",
      targetType: "Order",
      targetId: order.id,
      actorKind: "USER",
      actorId: customer.id,
      actorRole: "CUSTOMER",
      details: { reason: "changed my mind", previousStatus: "CONFIRMED", ownerId: customer.id, expired: false },
    });
    expectRecent(cancelled, since);

    // The refund is made by the payment service's handler of order.cancelled: the event is the actor.
    const [refund] = await eventually("the refund's audit row", async () => {
      const rows = await auditLog("paymentAuditLog", { action: "payment.refunded", correlationId: order.id });
      return rows.length ? rows : null;
    });
    expect(refund).toMatchObject({
      targetType: "Payment",
      actorKind: "EVENT",
      actorRole: "order.cancelled",
      correlationId: order.id,
      details: {
        orderId: order.id,
        userId: customer.id,
        amount: { amount: 1800, currency: "USD" },
        cancellation: { eventId: refund.actorId, reason: "changed my mind", expired: false, previousStatus: "CONFIRMED" },
      },
    });
    const { data } = await call(customer, `query($id: ID!) { order(id: $id) { payment { id } } }`, { id: order.id });
    expect(refund.targetId).toBe(data.order.payment.id);
    expectRecent(refund, since);
  });

  it("is for ADMIN only", async () => {
    for (const field of ["userAuditLog", "productAuditLog", "orderAuditLog", "paymentAuditLog"]) {
      for (const caller of [staff, customer]) {
        const { errors } = await caller.client.raw(`{ ${field}(first: 1) { totalCount } }`);
        expect(errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      }
    }
  });

  it("cannot be rewritten by any service, even with its own database role", async () => {
    for (const service of SERVICES) {
      const client = new Client({ connectionString: platform.databases[service].url });
      await client.connect();
      try {
        await expect(client.query(`update audit_log set action = 'forged'`)).rejects.toThrow(/append-only: UPDATE/);
        await expect(client.query(`delete from audit_log`)).rejects.toThrow(/append-only: DELETE/);
        await expect(client.query(`truncate audit_log`)).rejects.toThrow(/append-only: TRUNCATE/);
      } finally {
        await client.end();
      }
    }
    // the rows written above are all still there
    expect((await auditLog("userAuditLog", { action: "user.role_changed" })).length).toBeGreaterThan(0);
  });
});
