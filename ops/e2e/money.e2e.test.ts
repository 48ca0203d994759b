/**
 * Money through the gateway, on a platform configured as production is (wallets open empty): money
 * comes in only by a card top-up or a STAFF credit, the ledger and the invoice say where it went, a
 * key reused for another checkout is a CONFLICT, and a product nobody can pay for is never sold.
 */
import { TEST_CARDS } from "@commerce/payment";
import { type Platform } from "@commerce/testing";
import { createProduct, placeOrder, signUp, testCard, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

let platform: Platform;
let admin: Account;
let staff: Account;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin({ env: { WALLET_OPENING_BALANCE: "0" } }));
  staff = await signUp(platform.gatewayUrl, admin, "STAFF");
}, 150_000);
afterAll(() => platform?.stop());

const TOP_UP = `mutation($u: ID!, $amount: Int!, $card: CardInput, $reason: String) {
  topUpWallet(userId: $u, amount: { amount: $amount, currency: "USD" }, card: $card, reason: $reason) { balance { amount } } }`;
const balance = async (account: Account) =>
  (await account.client.request<{ me: { wallet: { balance: { amount: number } } } }>(`{ me { wallet { balance { amount } } } }`)).me.wallet.balance
    .amount;

describe("money through the gateway", () => {
  it("a new customer has nothing to spend until a card top-up or a credit; a declined card adds nothing", async () => {
    const customer = await signUp(platform.gatewayUrl);
    expect(await balance(customer)).toBe(0);

    for (const [number, reason] of [
      [TEST_CARDS.declined, "CARD_DECLINED"],
      [TEST_CARDS.insufficientFunds, "INSUFFICIENT_FUNDS"],
    ]) {
      const declined = await customer.client.raw(TOP_UP, { u: customer.id, amount: 5_000, card: testCard(number) });
      expect(declined.errors?.[0]?.extensions).toEqual({ code: "PAYMENT_DECLINED", reason });
    }
    // Another customer cannot fund this wallet, even with a good card; nor can a customer credit their own.
    const other = await signUp(platform.gatewayUrl);
    expect((await other.client.raw(TOP_UP, { u: customer.id, amount: 5_000, card: testCard() })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await customer.client.raw(TOP_UP, { u: customer.id, amount: 5_000, reason: "free money" })).errors?.[0]?.extensions?.code).toBe(
      "FORBIDDEN",
    );
    expect(await balance(customer)).toBe(0);

    await customer.client.request(TOP_UP, { u: customer.id, amount: 5_000, card: testCard() });
    await staff.client.request(TOP_UP, { u: customer.id, amount: 1_000, reason: "parcel lost in transit" });
    expect(await balance(customer)).toBe(6_000);
  });

  it("a paid order shows on the ledger as a capture, and its invoice lists what was bought", async () => {
    const customer = await signUp(platform.gatewayUrl);
    await customer.client.request(TOP_UP, { u: customer.id, amount: 10_000, card: testCard() });
    const lamp = await createProduct(admin, { price: 1_250, stock: 10, name: "Money desk lamp" });
    const mug = await createProduct(admin, { price: 399, stock: 10, name: "Money mug" });
    const order = await placeOrder(customer, [
      { productId: lamp, quantity: 2 },
      { productId: mug, quantity: 1 },
    ]);
    await waitForStatus(customer, order.id, ["CONFIRMED"]);

    const { order: paid } = await customer.client.request<{ order: { payment: { invoice: { amount: { amount: number }; lines: unknown[] } } } }>(
      `query($id: ID!) { order(id: $id) { payment { invoice { amount { amount } lines { productName quantity unitPrice { amount currency } total { amount currency } } } } } }`,
      { id: order.id },
    );
    expect(paid.payment.invoice).toEqual({
      amount: { amount: 2_899 },
      lines: [
        { productName: "Money desk lamp", quantity: 2, unitPrice: { amount: 1_250, currency: "USD" }, total: { amount: 2_500, currency: "USD" } },
        { productName: "Money mug", quantity: 1, unitPrice: { amount: 399, currency: "USD" }, total: { amount: 399, currency: "USD" } },
      ],
    });

    const { me } = await customer.client.request<{
      me: { wallet: { balance: { amount: number }; entries: { totalCount: number; edges: { node: any }[] } } };
    }>(`{ me { wallet { balance { amount } entries(first: 10) { totalCount edges { node { kind amount { amount } orderId reason } } } } } }`);
    expect(me.wallet.balance.amount).toBe(10_000 - 2_899);
    expect(me.wallet.entries.edges.map((edge) => edge.node)).toEqual([
      { kind: "CAPTURE", amount: { amount: -2_899 }, orderId: order.id, reason: null },
      { kind: "TOP_UP", amount: { amount: 10_000 }, orderId: null, reason: null },
    ]);
  });

  it("the same placeOrder key with another cart is CONFLICT naming input.idempotencyKey", async () => {
    const customer = await signUp(platform.gatewayUrl);
    await customer.client.request(TOP_UP, { u: customer.id, amount: 10_000, card: testCard() });
    const productId = await createProduct(admin, { price: 100, stock: 10 });
    const first = await placeOrder(customer, [{ productId, quantity: 1 }], { idempotencyKey: "money-checkout" });
    expect((await placeOrder(customer, [{ productId, quantity: 1 }], { idempotencyKey: "money-checkout" })).id).toBe(first.id);
    const conflict = await customer.client.raw(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, {
      input: { items: [{ productId, quantity: 2 }], idempotencyKey: "money-checkout" },
    });
    expect(conflict.errors?.[0]?.extensions).toEqual({ code: "CONFLICT", field: "input.idempotencyKey" });
  });

  it("refuses to price a product in a currency no wallet holds", async () => {
    const result = await admin.client.raw(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: `EUR-${Date.now()}`, name: "Euro lamp", price: { amount: 100, currency: "EUR" } },
    });
    expect(result.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.price.currency" });
  });
});
