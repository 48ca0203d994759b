import { randomUUID } from "node:crypto";
import { asUser, deliver, event, placeOrder, seedProduct, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
let productId: string;
beforeAll(async () => {
  subgraph = await startOrderSubgraph({ RETURN_WINDOW_DAYS: "30" });
  productId = await seedProduct(subgraph, { amount: 500 });
});
afterAll(() => subgraph?.stop());

const sql = <T>(text: string, values: unknown[] = []) => subgraph.runtime.orm.em.getConnection().execute<T[]>(text, values);
const staff = () => asUser(randomUUID(), "STAFF");
const REQUEST = `mutation($input: RequestReturnInput!) { requestReturn(input: $input) { id status statusHistory { status } } }`;

/** A SHIPPED order of 3 units at 500, through the saga's events and shipOrder. */
async function shippedOrder() {
  const userId = randomUUID();
  const orderId = await placeOrder(subgraph, userId, [productId], { quantity: 3 });
  const money = { amount: 1500, currency: "USD" };
  await deliver(subgraph, event("inventory.reserved", { orderId, userId, total: money, items: [{ productId, quantity: 3 }] }, orderId));
  await deliver(subgraph, event("payment.captured", { orderId, userId, paymentId: randomUUID(), amount: money, invoiceNumber: "INV-R" }, orderId));
  const shipped = await subgraph.gql(`mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: orderId }, staff());
  expect(shipped.errors).toBeUndefined();
  return { orderId, userId };
}

const requestReturn = (orderId: string, userId: string, quantity: number) =>
  subgraph.gql<{ requestReturn: { id: string; status: string } }>(
    REQUEST,
    { input: { orderId, lines: [{ productId, quantity }], reason: "broken" } },
    asUser(userId),
  );

test("returns are accepted for RETURN_WINDOW_DAYS after shipping, not after", async () => {
  const { orderId, userId } = await shippedOrder();
  const shipAt = (daysAgo: number) =>
    sql(`update order_status_changes set at = now() - make_interval(days => ?) where order_id = ? and status = 'SHIPPED'`, [daysAgo, orderId]);
  await shipAt(31);
  const late = await requestReturn(orderId, userId, 1);
  expect(late.errors?.[0].extensions?.code).toBe("CONFLICT");
  expect(late.errors?.[0].message).toMatch(/30 days after shipping/);
  await shipAt(29);
  expect((await requestReturn(orderId, userId, 1)).data?.requestReturn.status).toBe("REQUESTED");
});

test("a reason a person typed with a bidi override or a line break is refused, naming it", async () => {
  const { orderId, userId } = await shippedOrder();
  for (const reason of ["broken \u202Eon arrival", "broken\nBcc: x"]) {
    const asked = await subgraph.gql(REQUEST, { input: { orderId, lines: [{ productId, quantity: 1 }], reason } }, asUser(userId));
    expect(asked.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.reason" });
  }
  const cancel = `mutation($id: ID!, $r: String) { cancelOrder(id: $id, reason: $r) { status } }`;
  const pending = await placeOrder(subgraph, userId, [productId]);
  const refused = await subgraph.gql(cancel, { id: pending, r: "changed \u202Emind" }, asUser(userId));
  expect(refused.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "reason" });
  expect((await subgraph.gql(cancel, { id: pending, r: "changed my mind" }, asUser(userId))).errors).toBeUndefined();
});

test("two requests racing for the same units: one gets them, the other is told how many are left", async () => {
  const { orderId, userId } = await shippedOrder();
  const answers = await Promise.all([requestReturn(orderId, userId, 2), requestReturn(orderId, userId, 2)]);
  const accepted = answers.filter((answer) => answer.data?.requestReturn);
  const refused = answers.filter((answer) => answer.errors);
  expect(accepted).toHaveLength(1);
  expect(refused[0].errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.lines.0.quantity" });
  expect(refused[0].errors?.[0].message).toMatch(/1 left/);
});

test("receiving checks the warehouse with the product subgraph and asks for a retry while it cannot", async () => {
  const { orderId, userId } = await shippedOrder();
  const { data } = await requestReturn(orderId, userId, 1);
  const id = data!.requestReturn.id;
  await subgraph.gql(`mutation($id: ID!) { approveReturn(id: $id) { status } }`, { id }, staff());
  const received = await subgraph.gql(
    `mutation($id: ID!, $w: ID!) { receiveReturn(id: $id, warehouseId: $w) { status } }`,
    { id, w: randomUUID() },
    staff(),
  );
  expect(received.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "warehouseId" });
  const [row] = await sql<{ status: string }>(`select status from return_requests where id = ?`, [id]);
  expect(row.status).toBe("APPROVED");
});

test("the refund moves a RECEIVED return to REFUNDED once, however often it is delivered", async () => {
  const { orderId, userId } = await shippedOrder();
  const { data } = await requestReturn(orderId, userId, 2);
  const returnId = data!.requestReturn.id;
  await sql(`update return_requests set status = 'RECEIVED' where id = ?`, [returnId]);
  const refunded = (amount: number) =>
    event("payment.return_refunded", { returnId, orderId, userId, paymentId: randomUUID(), amount: { amount, currency: "USD" } }, orderId);
  await deliver(subgraph, refunded(1000));
  await deliver(subgraph, refunded(1000)); // the same refund in a second envelope
  const [row] = await sql<{ status: string; refund_amount: number }>(`select status, refund_amount from return_requests where id = ?`, [returnId]);
  expect(row).toEqual({ status: "REFUNDED", refund_amount: 1000 });
  const history = await sql<{ status: string }>(`select status from return_status_changes where return_id = ? order by id`, [returnId]);
  expect(history.map((change) => change.status)).toEqual(["REQUESTED", "REFUNDED"]);
  const events = await sql<{ type: string }>(
    `select type from outbox where type like 'return.%' and payload->'payload'->>'returnId' = ? order by id`,
    [returnId],
  );
  expect(events.map((e) => e.type)).toEqual(["return.requested", "return.refunded"]);
});
