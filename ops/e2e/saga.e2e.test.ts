/**
 * The saga end to end, through the gateway only: every branch a customer can
 * cause, with fields from every subgraph in the answers.
 */
import { smtpSink } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, waitForStatus, type Account, usePlatformWithAdmin } from "@commerce/testing/e2e";

const e2e = usePlatformWithAdmin();

const ORDER_STORY = `query($id: ID!) {
  order(id: $id) {
    status failureReason total { amount currency }
    items { quantity unitPrice { amount } product { name } }
    user { email wallet { balance { amount } } }
    payment { status amount { amount } invoice { number } }
    statusHistory { status reason }
  }
}`;

interface Story {
  order: {
    status: string;
    failureReason: string | null;
    total: { amount: number };
    items: { quantity: number; unitPrice: { amount: number }; product: { name: string } }[];
    user: { email: string; wallet: { balance: { amount: number } } };
    payment: { status: string; amount: { amount: number }; invoice: { number: string } | null } | null;
    statusHistory: { status: string; reason: string | null }[];
  };
}

const available = async (account: Account, productId: string) =>
  (await account.client.request<{ product: { available: number } }>(`query($id: ID!) { product(id: $id) { available } }`, { id: productId })).product
    .available;

describe("the order saga through the gateway", () => {
  it("confirms a paid order, with fields from all five subgraphs", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 2500, stock: 10, name: "Walking Skeleton Mug" });
    const placed = await placeOrder(customer, [{ productId, quantity: 2 }], { name: "first order" });
    expect(placed.status).toBe("PENDING");
    expect(placed.total.amount).toBe(5000);

    await waitForStatus(customer, placed.id, ["CONFIRMED"]);
    // The invoice is issued in the same transaction as the capture; the wallet too.
    const { order } = await customer.client.request<Story>(ORDER_STORY, { id: placed.id });
    expect(order.items).toEqual([{ quantity: 2, unitPrice: { amount: 2500 }, product: { name: "Walking Skeleton Mug" } }]);
    expect(order.user.email).toBe(customer.email);
    expect(order.user.wallet.balance.amount).toBe(100000 - 5000);
    expect(order.payment).toMatchObject({ status: "CAPTURED", amount: { amount: 5000 } });
    expect(order.payment?.invoice?.number).toMatch(/\S/);
    expect(order.statusHistory.map((change) => change.status)).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED"]);
    expect(await available(e2e.admin, productId)).toBe(8);

    const mail = await smtpSink.waitFor(customer.email, (message) => /confirm/i.test(message.subject ?? ""));
    expect(mail.text ?? mail.html).toContain("50.00");
  });

  it("confirms an order of free products: captured and invoiced at 0", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 0, stock: 3 });
    const placed = await placeOrder(customer, [{ productId, quantity: 2 }]);
    expect(placed.total.amount).toBe(0);
    await waitForStatus(customer, placed.id, ["CONFIRMED"]);
    const { order } = await customer.client.request<Story>(ORDER_STORY, { id: placed.id });
    expect(order.payment).toMatchObject({ status: "CAPTURED", amount: { amount: 0 } });
    expect(order.payment?.invoice?.number).toMatch(/\S/);
    expect(order.user.wallet.balance.amount).toBe(100000);
    expect(await available(e2e.admin, productId)).toBe(1);
  });

  it("ends OUT_OF_STOCK with a reason, charging nothing", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 1000, stock: 1 });
    const placed = await placeOrder(customer, [{ productId, quantity: 3 }]);
    const order = await waitForStatus(customer, placed.id, ["OUT_OF_STOCK"]);
    expect(order.failureReason).toBeTruthy();
    const { order: story } = await customer.client.request<Story>(ORDER_STORY, { id: placed.id });
    expect(story.payment).toBeNull();
    expect(story.user.wallet.balance.amount).toBe(100000);
  });

  it("ends PAYMENT_FAILED when the wallet is short, and releases the stock", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 60000, stock: 5 });
    const placed = await placeOrder(customer, [{ productId, quantity: 2 }]);
    const order = await waitForStatus(customer, placed.id, ["PAYMENT_FAILED"]);
    expect(order.failureReason).toMatch(/insufficient/i);
    await eventually("the reservation to be released", async () => (await available(e2e.admin, productId)) === 5);
    const { order: story } = await customer.client.request<Story>(ORDER_STORY, { id: placed.id });
    expect(story.payment?.status).toBe("FAILED");
    expect(story.user.wallet.balance.amount).toBe(100000);
  });

  it("cancels a confirmed order: refunds the wallet and restocks", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 3000, stock: 4 });
    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    await waitForStatus(customer, placed.id, ["CONFIRMED"]);
    const { cancelOrder } = await customer.client.request<{ cancelOrder: { status: string } }>(
      `mutation($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { status } }`,
      { id: placed.id },
    );
    expect(cancelOrder.status).toBe("CANCELLED");
    const refunded = await eventually("the refund", async () => {
      const { order } = await customer.client.request<Story>(ORDER_STORY, { id: placed.id });
      return order.payment?.status === "REFUNDED" ? order : null;
    });
    expect(refunded.user.wallet.balance.amount).toBe(100000);
    await eventually("the restock", async () => (await available(e2e.admin, productId)) === 4);
    // Shipped orders can no longer be cancelled.
    const again = await customer.client.raw(`mutation($id: ID!) { cancelOrder(id: $id) { status } }`, { id: placed.id });
    expect(again.errors?.[0].extensions?.code).toBe("CONFLICT");
  });

  it("returns the same order for the same idempotency key", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 100, stock: 10 });
    const key = `key-${Date.now()}`;
    const [first, second] = await Promise.all([
      placeOrder(customer, [{ productId, quantity: 1 }], { idempotencyKey: key }),
      placeOrder(customer, [{ productId, quantity: 1 }], { idempotencyKey: key }),
    ]);
    expect(second.id).toBe(first.id);
    const { orders } = await customer.client.request<{ orders: { totalCount: number } }>(`{ orders { totalCount } }`);
    expect(orders.totalCount).toBe(1);
  });

  it("answers bad input, strangers and page sizes with clear errors", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const stranger = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 100, stock: 10 });
    const zero = await customer.client.raw(`mutation($p: ID!) { placeOrder(input: { items: [{ productId: $p, quantity: 0 }] }) { id } }`, {
      p: productId,
    });
    expect(zero.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(String(zero.errors?.[0].extensions?.field)).toContain("quantity");

    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    const peek = await stranger.client.raw(`query($id: ID!) { order(id: $id) { id } }`, { id: placed.id });
    expect(peek.errors?.[0].extensions?.code).toBe("FORBIDDEN");

    const tooMany = await customer.client.raw(`{ products(first: 101) { totalCount } }`);
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    // A value the schema's types refuse before any resolver runs still names its field.
    const fractional = await customer.client.raw(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, {
      input: { items: [{ productId, quantity: 1.5 }] },
    });
    expect(fractional.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.0.quantity" });
    // Huge pages with nested lists: still the page cap, not the gateway's cost limit.
    const huge = await customer.client.raw(
      `{ orders(first: 2147483647) { edges { node { items { product { name } } statusHistory { status } } } } }`,
    );
    expect(huge.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });

    const anonymous = await customer.client
      .withToken(null)
      .raw(`mutation($p: ID!) { placeOrder(input: { items: [{ productId: $p, quantity: 1 }] }) { id } }`, { p: productId });
    expect(anonymous.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");

    const forged = await customer.client.withToken(`${customer.token.slice(0, -3)}abc`).raw(`{ me { id } }`);
    expect(forged.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });
});
