/**
 * Returns end to end, through the gateway only: a customer sends back part of a shipped order, STAFF
 * approve, reject and receive; the units go back on the shelf, their price back to the wallet (never
 * more than was paid), the customer is told at each step, and the books reconcile.
 */
import { reconcile } from "../commands/reconcile";
import { orderStory } from "../commands/saga";
import type { DatabaseUrls } from "../commands/targets";
import { SERVICES, smtpSink, type Platform } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

let platform: Platform;
let admin: Account;
let staff: Account;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin());
  staff = await signUp(platform.gatewayUrl, admin, "STAFF");
}, 120_000);
afterAll(() => platform?.stop());

const RETURN = `id status reason refund { amount currency } lines { product { id name } quantity unitPrice { amount } }
  statusHistory { status reason } order { id status }`;

interface Return {
  id: string;
  status: string;
  reason: string;
  refund: { amount: number; currency: string } | null;
  lines: { product: { id: string; name: string }; quantity: number; unitPrice: { amount: number } }[];
  statusHistory: { status: string; reason: string | null }[];
  order: { id: string; status: string };
}

const REQUEST = `mutation($input: RequestReturnInput!) { requestReturn(input: $input) { ${RETURN} } }`;

async function request(account: Account, orderId: string, lines: { productId: string; quantity: number }[], reason = "does not fit") {
  return (await account.client.request<{ requestReturn: Return }>(REQUEST, { input: { orderId, lines, reason } })).requestReturn;
}

async function step(account: Account, mutation: string, variables: Record<string, unknown>): Promise<Return> {
  const data = await account.client.request<Record<string, Return>>(mutation, variables);
  return Object.values(data)[0];
}
const APPROVE = `mutation($id: ID!) { approveReturn(id: $id) { ${RETURN} } }`;
const REJECT = `mutation($id: ID!, $reason: String!) { rejectReturn(id: $id, reason: $reason) { ${RETURN} } }`;
const RECEIVE = `mutation($id: ID!, $w: ID!) { receiveReturn(id: $id, warehouseId: $w) { ${RETURN} } }`;

const ORDER_RETURNS = `query($id: ID!) { order(id: $id) { returns { ${RETURN} } user { wallet { balance { amount } } } } }`;

async function returnsOf(account: Account, orderId: string) {
  return (
    await account.client.request<{ order: { returns: Return[]; user: { wallet: { balance: { amount: number } } } } }>(ORDER_RETURNS, { id: orderId })
  ).order;
}

const stockIn = async (productId: string, warehouseId: string) => {
  const { product } = await admin.client.request<{ product: { available: number; stock: { warehouse: { id: string }; onHand: number }[] } }>(
    `query($id: ID!) { product(id: $id) { available stock { warehouse { id } onHand } } }`,
    { id: productId },
  );
  return { available: product.available, onHand: product.stock.find((level) => level.warehouse.id === warehouseId)?.onHand ?? 0 };
};

const errorOf = (body: { errors?: { extensions?: Record<string, unknown> }[] }) => body.errors?.[0]?.extensions;

/** A SHIPPED order of 3 mugs (1,500 each) and 1 kettle (2,500): 7,000 captured. */
async function shippedOrder(customer: Account) {
  const mug = await createProduct(admin, { price: 1500, stock: 10, name: "Return Mug" });
  const kettle = await createProduct(admin, { price: 2500, stock: 5, name: "Return Kettle" });
  const placed = await placeOrder(
    customer,
    [
      { productId: mug, quantity: 3 },
      { productId: kettle, quantity: 1 },
    ],
    { name: "return me" },
  );
  await waitForStatus(customer, placed.id, ["CONFIRMED"]);
  return { orderId: placed.id, mug, kettle };
}

describe("returns through the gateway", () => {
  it("takes back part of a shipped order, then the rest, refunding exactly what was paid", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const { orderId, mug, kettle } = await shippedOrder(customer);
    const { createWarehouse } = await admin.client.request<{ createWarehouse: { id: string } }>(
      `mutation($code: String!) { createWarehouse(code: $code, name: "Returns desk") { id } }`,
      { code: `RET-${orderId.slice(0, 6)}` },
    );
    const returnsDesk = createWarehouse.id;

    // Not before it ships.
    const early = await customer.client.raw(REQUEST, { input: { orderId, lines: [{ productId: mug, quantity: 1 }], reason: "early" } });
    expect(errorOf(early)?.code).toBe("CONFLICT");
    await staff.client.request(`mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: orderId });

    const first = await request(customer, orderId, [{ productId: mug, quantity: 2 }], "too small");
    expect(first).toMatchObject({
      status: "REQUESTED",
      reason: "too small",
      refund: null,
      lines: [{ product: { id: mug, name: "Return Mug" }, quantity: 2, unitPrice: { amount: 1500 } }],
      statusHistory: [{ status: "REQUESTED", reason: "too small" }],
      order: { id: orderId, status: "SHIPPED" },
    });
    // Only one mug is left to return while the first return is open.
    const tooMany = await customer.client.raw(REQUEST, {
      input: {
        orderId,
        lines: [
          { productId: kettle, quantity: 1 },
          { productId: mug, quantity: 2 },
        ],
        reason: "more",
      },
    });
    expect(errorOf(tooMany)).toMatchObject({ code: "BAD_USER_INPUT", field: "input.lines.1.quantity" });

    const forbidden = await customer.client.raw(APPROVE, { id: first.id });
    expect(errorOf(forbidden)?.code).toBe("FORBIDDEN");
    expect((await step(staff, APPROVE, { id: first.id })).status).toBe("APPROVED");
    expect(errorOf(await staff.client.raw(APPROVE, { id: first.id }))?.code).toBe("CONFLICT");

    const unknownWarehouse = await staff.client.raw(RECEIVE, { id: first.id, w: "7a1f1c52-0000-4000-8000-000000000000" });
    expect(errorOf(unknownWarehouse)).toMatchObject({ code: "NOT_FOUND", field: "warehouseId" });

    const before = await stockIn(mug, returnsDesk);
    expect((await step(staff, RECEIVE, { id: first.id, w: returnsDesk })).status).toBe("RECEIVED");
    const refunded = await eventually(async () => {
      const order = await returnsOf(customer, orderId);
      return order.returns[0].status === "REFUNDED" ? order : null;
    }, "the first return's refund");
    expect(refunded.returns[0].refund).toEqual({ amount: 3000, currency: "USD" });
    expect(refunded.returns[0].statusHistory.map((change) => change.status)).toEqual(["REQUESTED", "APPROVED", "RECEIVED", "REFUNDED"]);
    expect(refunded.user.wallet.balance.amount).toBe(100000 - 7000 + 3000);
    await eventually(async () => (await stockIn(mug, returnsDesk)).onHand === before.onHand + 2, "the restock");
    expect((await stockIn(mug, returnsDesk)).available).toBe(before.available + 2);

    // A rejected return frees its units again.
    const oneOfEach = [
      { productId: mug, quantity: 1 },
      { productId: kettle, quantity: 1 },
    ];
    const second = await request(customer, orderId, oneOfEach, "changed my mind");
    const rejected = await step(staff, REJECT, { id: second.id, reason: "worn" });
    expect(rejected.statusHistory).toEqual([
      { status: "REQUESTED", reason: "changed my mind" },
      { status: "REJECTED", reason: "worn" },
    ]);
    expect(errorOf(await staff.client.raw(RECEIVE, { id: second.id, w: returnsDesk }))?.code).toBe("CONFLICT");
    const third = await request(customer, orderId, oneOfEach, "second thoughts");
    await step(staff, APPROVE, { id: third.id });
    await step(staff, RECEIVE, { id: third.id, w: returnsDesk });
    const all = await eventually(async () => {
      const order = await returnsOf(customer, orderId);
      return order.returns.every((r) => r.status === "REFUNDED" || r.status === "REJECTED") ? order : null;
    }, "the third return's refund");
    expect(all.returns.map((r) => [r.status, r.refund?.amount ?? null])).toEqual([
      ["REFUNDED", 3000],
      ["REJECTED", null],
      ["REFUNDED", 4000],
    ]);
    // Restock and refund are two services' work: the third return's units are back on the shelf too.
    await eventually(
      async () => (await stockIn(mug, returnsDesk)).onHand === before.onHand + 3 && (await stockIn(kettle, returnsDesk)).onHand === 1,
      "the third restock",
    );
    // Everything bought came back: the whole capture, not a cent more.
    expect(all.user.wallet.balance.amount).toBe(100000);
    const nothingLeft = await customer.client.raw(REQUEST, { input: { orderId, lines: [{ productId: kettle, quantity: 1 }], reason: "again" } });
    expect(errorOf(nothingLeft)).toMatchObject({ code: "BAD_USER_INPUT", field: "input.lines.0.quantity" });

    // The customer was told at each step.
    for (const subject of [/return of order return me requested/i, /approved/i, /declined/i, /received/i, /refund for your return/i]) {
      await smtpSink.waitFor(customer.email, (message) => subject.test(message.subject ?? ""));
    }
    const refundMails = await eventually(async () => {
      const mails = (await smtpSink.messages(customer.email)).filter((message) => /refund for your return/i.test(message.subject ?? ""));
      return mails.length >= 2 && mails;
    }, "a refund mail for each refunded return");
    expect(refundMails.map((message) => message.text ?? message.html).join(" ")).toMatch(/\$30\.00[\s\S]*\$40\.00|\$40\.00[\s\S]*\$30\.00/);

    const { returns } = await staff.client.request<{ returns: { totalCount: number; edges: { node: { id: string } }[] } }>(
      `query($s: ReturnStatus) { returns(filter: { status: $s }, first: 100) { totalCount edges { node { id } } } }`,
      { s: "REFUNDED" },
    );
    expect(returns.edges.map((edge) => edge.node.id)).toEqual(expect.arrayContaining([first.id, third.id]));
    expect(returns.edges.map((edge) => edge.node.id)).not.toContain(second.id);

    const databases = Object.fromEntries(SERVICES.map((svc) => [svc, platform.databases[svc].url])) as DatabaseUrls;
    const violations = await reconcile(databases, { graceMs: 0 });
    expect(violations.filter((v) => v.subject.includes(orderId))).toEqual([]);

    // `npm run saga` tells the returns with the rest of the order's story.
    const story = await orderStory({ databases, redisUrl: platform.env.REDIS_URL, streamPrefix: platform.streamPrefix }, orderId);
    const returnSteps = story.entries.filter((entry) => entry.kind === "return").map((entry) => `${entry.service} ${entry.text}`);
    expect(returnSteps.filter((step) => /^order .*→ REFUNDED/.test(step))).toHaveLength(2);
    expect(returnSteps.filter((step) => /^product .* restocked into/.test(step))).toHaveLength(2);
    const refundSteps = returnSteps.filter((step) => /^payment .* refunded/.test(step));
    expect(refundSteps).toHaveLength(2);
    expect(refundSteps).toEqual(
      expect.arrayContaining([expect.stringContaining("refunded 30.00 USD"), expect.stringContaining("refunded 40.00 USD")]),
    );
  });

  it("refuses what is not the caller's or not in the order, with the field at fault", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const stranger = await signUp(platform.gatewayUrl);
    const { orderId, mug } = await shippedOrder(customer);
    await staff.client.request(`mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: orderId });
    const input = (lines: unknown, reason = "no") => ({ input: { orderId, lines, reason } });

    expect(errorOf(await stranger.client.raw(REQUEST, input([{ productId: mug, quantity: 1 }])))?.code).toBe("FORBIDDEN");
    expect(errorOf(await staff.client.raw(REQUEST, input([{ productId: mug, quantity: 1 }])))?.code).toBe("FORBIDDEN");
    expect(errorOf(await customer.client.withToken(null).raw(REQUEST, input([{ productId: mug, quantity: 1 }])))?.code).toBe("UNAUTHENTICATED");
    expect(errorOf(await customer.client.raw(REQUEST, input([{ productId: orderId, quantity: 1 }])))).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.lines.0.productId",
    });
    expect(errorOf(await customer.client.raw(REQUEST, input([{ productId: mug, quantity: 0 }])))).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.lines.0.quantity",
    });
    expect(errorOf(await customer.client.raw(REQUEST, input([])))).toMatchObject({ code: "BAD_USER_INPUT", field: "input.lines" });
    expect(errorOf(await customer.client.raw(REQUEST, input([{ productId: mug, quantity: 1 }], "  ")))).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.reason",
    });
    expect(
      errorOf(await customer.client.raw(REQUEST, { input: { orderId: "nope", lines: [{ productId: mug, quantity: 1 }], reason: "x" } })),
    ).toMatchObject({
      code: "NOT_FOUND",
      field: "input.orderId",
    });

    const mine = await request(customer, orderId, [{ productId: mug, quantity: 1 }]);
    // Another customer sees neither the order nor its returns; the list of all returns is STAFF's.
    expect(errorOf(await stranger.client.raw(ORDER_RETURNS, { id: orderId }))?.code).toBe("FORBIDDEN");
    expect(errorOf(await customer.client.raw(`{ returns { totalCount } }`))?.code).toBe("FORBIDDEN");
    expect(errorOf(await staff.client.raw(REJECT, { id: mine.id, reason: "" }))).toMatchObject({ code: "BAD_USER_INPUT", field: "reason" });
    expect(errorOf(await staff.client.raw(APPROVE, { id: "nope" }))).toMatchObject({ code: "NOT_FOUND", field: "id" });
  });
});
