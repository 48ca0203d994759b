/**
 * The audit log through the gateway: each audited operation leaves one row
 * saying who, what, when and under which correlation id, ADMIN alone can read
 * it, and no service can rewrite it.
 */
import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { SERVICES, type Platform } from "@commerce/testing";
import {
  ADMIN,
  createProduct,
  eventually,
  login,
  placeOrder,
  signUp,
  testCard,
  waitForStatus,
  type Account,
  startPlatformWithAdmin,
} from "@commerce/testing/e2e";

let platform: Platform;
let admin: Account;
let staff: Account;
let customer: Account;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin({ env: { AUTH_RATE_LIMIT_PER_MINUTE: "1000" } }));
  [staff, customer] = await Promise.all([signUp(platform.gatewayUrl, admin, "STAFF"), signUp(platform.gatewayUrl)]);
}, 150_000);
afterAll(() => platform?.stop());

/** Calls the gateway as `account` with our own request id, which becomes the audit row's correlation id. */
async function call<T = any>(
  account: Account,
  query: string,
  variables: Record<string, unknown> = {},
  requestId = randomUUID(),
): Promise<{ data: T; requestId: string }> {
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
  const { data } = await call(as, `query($f: AuditLogFilter) { ${field}(filter: $f, first: 100) { totalCount edges { node { ${ENTRY} } } } }`, {
    f: filter,
  });
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
    const adjusted = await call(
      staff,
      `mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 7, reason: "delivery 42") { onHand } }`,
      {
        p: productId,
        w: warehouse.id,
      },
    );
    const [stock] = await auditLog("productAuditLog", { action: "stock.adjusted", targetId: productId });
    expect(stock).toMatchObject({
      targetType: "Product",
      actorKind: "USER",
      actorId: staff.id,
      actorRole: "STAFF",
      correlationId: adjusted.requestId,
      details: {
        warehouseId: warehouse.id,
        warehouseCode: warehouse.code,
        delta: 7,
        reason: "delivery 42",
        onHandBefore: 0,
        onHandAfter: 7,
        reserved: 0,
      },
    });
    expectRecent(stock, since);

    const repriced = await call(admin, `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 1800, currency: "USD" } }) { id } }`, {
      id: productId,
    });
    // An update that leaves the price as it is records nothing.
    await call(admin, `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 1800, currency: "USD" }, name: "renamed" }) { id } }`, {
      id: productId,
    });
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

  /**
   * Every mutation of the public API that STAFF or ADMIN may make on data other than their own, with
   * the audit row it must leave: which log, which action, and how to find the row (the request id, or
   * the order id for order and return steps). The rest are listed apart with the reason they are not.
   */
  const OWN_DATA: Record<string, string> = {
    register: "signs up oneself",
    login: "signs in",
    refreshToken: "signs in",
    logout: "ends one's own sign-in",
    changePassword: "one's own password (audited as user.password_changed all the same)",
    requestPasswordReset: "anonymous; mails the account's owner",
    resetPassword: "the mailed token's owner (audited as user.password_reset)",
    placeOrder: "one's own order",
    requestReturn: "the order owner's (audited as return.requested)",
    updateNotificationPreferences: "one's own preferences",
  };

  it("records every STAFF and ADMIN write: the whole list of mutations, each one made and found in its log", async () => {
    const { data: schema } = await call(admin, `{ __type(name: "Mutation") { fields { name } } }`);
    const mutations: string[] = schema.__type.fields.map((field: { name: string }) => field.name);
    const productId = await createProduct(admin, { price: 700, stock: 5 });
    const { data: places } = await call(admin, `{ warehouses { id } }`);
    const warehouseId = places.warehouses[0].id;
    const ordered = async () => {
      const order = await placeOrder(customer, [{ productId, quantity: 1 }]);
      await waitForStatus(customer, order.id, ["CONFIRMED"]);
      return order.id;
    };
    const shipped = async () => {
      const id = await ordered();
      await call(staff, `mutation($id: ID!) { shipOrder(id: $id) { id } }`, { id });
      return id;
    };
    const returned = async () => {
      const orderId = await shipped();
      const { data } = await call(
        customer,
        `mutation($o: ID!, $p: ID!) { requestReturn(input: { orderId: $o, lines: [{ productId: $p, quantity: 1 }], reason: "too small" }) { id } }`,
        { o: orderId, p: productId },
      );
      return { orderId, id: data.requestReturn.id as string };
    };

    type Step = { log: string; action: string; as?: Account; run: (as: Account) => Promise<{ requestId: string; correlationId?: string }> };
    const byRequest = (query: string, variables: () => Promise<Record<string, unknown>> | Record<string, unknown>) => async (as: Account) =>
      call(as, query, await variables());
    const byOrder = (query: string, prepare: () => Promise<{ orderId: string; id: string }>) => async (as: Account) => {
      const { orderId, id } = await prepare();
      return { ...(await call(as, query, { id })), correlationId: orderId };
    };
    const orderStep = (prepare: () => Promise<string>) => async () => {
      const id = await prepare();
      return { orderId: id, id };
    };
    const STEPS: Record<string, Step> = {
      setUserRole: {
        log: "userAuditLog",
        action: "user.role_changed",
        run: byRequest(`mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { id } }`, async () => ({
          id: (await signUp(platform.gatewayUrl)).id,
        })),
      },
      createCategory: {
        log: "productAuditLog",
        action: "category.created",
        run: byRequest(`mutation($n: String!) { createCategory(name: $n) { id } }`, () => ({ n: `audited ${randomUUID().slice(0, 8)}` })),
      },
      createWarehouse: {
        log: "productAuditLog",
        action: "warehouse.created",
        run: byRequest(`mutation($c: String!) { createWarehouse(code: $c, name: "Audited") { id } }`, () => ({
          c: `AUD-${randomUUID().slice(0, 8)}`,
        })),
      },
      createProduct: {
        log: "productAuditLog",
        action: "product.created",
        run: byRequest(
          `mutation($s: String!) { createProduct(input: { sku: $s, name: "Audited", price: { amount: 100, currency: "USD" } }) { id } }`,
          () => ({ s: `AUD-${randomUUID()}` }),
        ),
      },
      updateProduct: {
        log: "productAuditLog",
        action: "product.updated",
        run: byRequest(`mutation($id: ID!) { updateProduct(id: $id, input: { name: "Audited again" }) { id } }`, () => ({ id: productId })),
      },
      deleteProduct: {
        log: "productAuditLog",
        action: "product.deleted",
        run: byRequest(`mutation($id: ID!) { deleteProduct(id: $id) }`, async () => ({ id: await createProduct(admin, { price: 100, stock: 0 }) })),
      },
      adjustStock: {
        log: "productAuditLog",
        action: "stock.adjusted",
        as: staff,
        run: byRequest(`mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 3, reason: "count") { onHand } }`, () => ({
          p: productId,
          w: warehouseId,
        })),
      },
      cancelOrder: {
        log: "orderAuditLog",
        action: "order.cancelled",
        as: staff,
        run: byOrder(`mutation($id: ID!) { cancelOrder(id: $id) { id } }`, orderStep(ordered)),
      },
      shipOrder: {
        log: "orderAuditLog",
        action: "order.shipped",
        as: staff,
        run: byOrder(`mutation($id: ID!) { shipOrder(id: $id) { id } }`, orderStep(ordered)),
      },
      completeOrder: {
        log: "orderAuditLog",
        action: "order.completed",
        as: staff,
        run: byOrder(`mutation($id: ID!) { completeOrder(id: $id) { id } }`, orderStep(shipped)),
      },
      approveReturn: {
        log: "orderAuditLog",
        action: "return.approved",
        as: staff,
        run: byOrder(`mutation($id: ID!) { approveReturn(id: $id) { id } }`, returned),
      },
      rejectReturn: {
        log: "orderAuditLog",
        action: "return.rejected",
        as: staff,
        run: byOrder(`mutation($id: ID!) { rejectReturn(id: $id, reason: "worn") { id } }`, returned),
      },
      receiveReturn: {
        log: "orderAuditLog",
        action: "return.received",
        as: staff,
        run: byOrder(`mutation($id: ID!) { receiveReturn(id: $id, warehouseId: "${warehouseId}") { id } }`, async () => {
          const request = await returned();
          await call(staff, `mutation($id: ID!) { approveReturn(id: $id) { id } }`, { id: request.id });
          return request;
        }),
      },
      topUpWallet: {
        log: "paymentAuditLog",
        action: "wallet.credited",
        as: staff,
        run: byRequest(
          `mutation($u: ID!) { topUpWallet(userId: $u, amount: { amount: 100, currency: "USD" }, reason: "goodwill") { balance { amount } } }`,
          () => ({ u: customer.id }),
        ),
      },
      upsertNotificationTemplate: {
        log: "notificationAuditLog",
        action: "template.upserted",
        run: byRequest(`mutation { upsertNotificationTemplate(key: "welcome", channel: IN_APP, body: "Welcome, {{name}}!") { key } }`, () => ({})),
      },
    };

    // A new mutation fails here until it is listed: audited, or why not.
    expect([...mutations].sort()).toEqual([...Object.keys(STEPS), ...Object.keys(OWN_DATA)].sort());
    for (const [mutation, step] of Object.entries(STEPS)) {
      const as = step.as ?? admin;
      const since = Date.now();
      const { requestId, correlationId } = await step.run(as);
      const rows = await auditLog(step.log, { action: step.action, correlationId: correlationId ?? requestId });
      const mine = rows.filter((row) => row.actorId === as.id);
      expect({ mutation, rows: mine.length }).toEqual({ mutation, rows: 1 });
      expect(mine[0]).toMatchObject({ actorKind: "USER", actorRole: as === staff ? "STAFF" : "ADMIN" });
      expectRecent(mine[0], since);
    }
  });

  it("is for ADMIN only", async () => {
    for (const field of ["userAuditLog", "productAuditLog", "orderAuditLog", "paymentAuditLog", "notificationAuditLog"]) {
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
