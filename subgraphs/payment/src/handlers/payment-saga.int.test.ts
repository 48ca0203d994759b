import { randomUUID } from "node:crypto";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { ParsedEvent } from "@commerce/schema";
import { paymentSubgraph } from "../module";
import type { PaymentSettings } from "../settings";
import { allocateInvoiceNumber, Invoice } from "../payment/invoice.entity";
import { Payment } from "../payment/payment.entity";
import { Wallet } from "../wallet/wallet.entity";
import { lockWallet } from "../wallet/open-wallet";
import { WalletEntry } from "../wallet/wallet-entry.entity";
import { event, eventually, publish, streamEvents } from "@commerce/testing/events";

let payment: TestSubgraph<PaymentSettings>;
const usd = (amount: number) => ({ amount, currency: "USD" });

beforeAll(async () => {
  payment = await startTestSubgraph(paymentSubgraph, { WALLET_OPENING_BALANCE: "100000" });
});
afterAll(async () => {
  await payment?.stop();
});

const em = (): EntityManager => payment.runtime.orm.em.fork() as EntityManager;
const send = (envelope: ParsedEvent) => publish(payment.runtime.redis, payment.streamPrefix, envelope);
const paymentEvents = async (orderId: string) =>
  (await streamEvents(payment.runtime.redis, payment.streamPrefix, "payment")).filter((e) => "orderId" in e.payload && e.payload.orderId === orderId);
const balanceOf = async (userId: string) => (await em().findOneOrFail(Wallet, { userId })).balanceAmount;

async function registered(): Promise<string> {
  const userId = randomUUID();
  await send(event("user.registered", { userId, email: `${userId}@example.com`, name: "Ann", role: "CUSTOMER" }, userId));
  await eventually("the wallet to open", () =>
    em()
      .findOne(Wallet, { userId })
      .then((w) => w ?? undefined),
  );
  return userId;
}

function reserved(userId: string, orderId: string, amount: number) {
  return event("inventory.reserved", { orderId, userId, total: usd(amount), items: [{ productId: "p1", quantity: 1 }] }, orderId);
}

function cancelled(userId: string, orderId: string) {
  return event("order.cancelled", { orderId, userId, reason: "changed my mind", previousStatus: "STOCK_RESERVED", expired: false }, orderId);
}

/** Waits until the consumer group has processed `envelope` (its processed mark committed). */
async function processed(envelope: ParsedEvent): Promise<void> {
  await eventually(
    `${envelope.type} ${envelope.id} to be processed`,
    async () => (await em().execute(`select 1 from processed_event where event_id = ?`, [envelope.id])).length > 0,
  );
}

describe("charging a wallet on inventory.reserved", () => {
  it("captures the total, issues an invoice and emits payment.captured", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 2_500));

    const [captured] = await eventually("payment.captured", async () => (await paymentEvents(orderId)).length > 0 && paymentEvents(orderId));
    expect(captured.type).toBe("payment.captured");
    const stored = await em().findOneOrFail(Payment, { orderId });
    expect(captured.payload).toEqual({
      orderId,
      userId,
      paymentId: stored.id,
      amount: usd(2_500),
      invoiceNumber: expect.stringMatching(/^INV-\d{6}$/),
    });
    expect(captured.causationId).not.toBeNull();
    expect(stored.status).toBe("CAPTURED");
    const invoice = await em().findOneOrFail(Invoice, { payment: stored.id });
    expect(invoice.number).toBe((captured.payload as { invoiceNumber: string }).invoiceNumber);
    expect(invoice.amountMinor).toBe(2_500);
    // A reservation without its lines' prices and names (as written before they were added) invoices no lines.
    expect(invoice.lines).toEqual([]);
    expect(await balanceOf(userId)).toBe(97_500);
  });

  it("invoices the lines the reservation carries: product name, quantity, unit price and line total", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    const [lamp, mug] = [randomUUID(), randomUUID()];
    await send(
      event(
        "inventory.reserved",
        {
          orderId,
          userId,
          total: usd(2 * 1_250 + 399),
          items: [
            { productId: lamp, quantity: 2, unitPrice: usd(1_250), name: "Desk lamp" },
            { productId: mug, quantity: 1, unitPrice: usd(399), name: "Mug" },
          ],
        },
        orderId,
      ),
    );
    await eventually("payment.captured", async () => (await paymentEvents(orderId)).length > 0);
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { payment { invoice { amount { amount } lines { productName quantity unitPrice { amount currency } total { amount currency } } } } } } }`;
    const result = await payment.gql<{ _entities: { payment: { invoice: { amount: { amount: number }; lines: any[] } } }[] }>(
      query,
      { reps: [{ __typename: "Order", id: orderId }] },
      asUser(userId),
    );
    expect(result.errors).toBeUndefined();
    const invoice = result.data!._entities[0].payment.invoice;
    expect(invoice.lines).toEqual([
      { productName: "Desk lamp", quantity: 2, unitPrice: usd(1_250), total: usd(2_500) },
      { productName: "Mug", quantity: 1, unitPrice: usd(399), total: usd(399) },
    ]);
    expect(invoice.lines.reduce((sum, line) => sum + line.total.amount, 0)).toBe(invoice.amount.amount);
  });

  it("captures and invoices an order of free products (total 0) without touching the balance", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 0));

    const [captured] = await eventually("payment.captured", async () => (await paymentEvents(orderId)).length > 0 && paymentEvents(orderId));
    expect(captured.type).toBe("payment.captured");
    const stored = await em().findOneOrFail(Payment, { orderId });
    expect(stored.status).toBe("CAPTURED");
    expect((await em().findOneOrFail(Invoice, { payment: stored.id })).amountMinor).toBe(0);
    expect(await balanceOf(userId)).toBe(100_000);
  });

  it("fails the payment with the reason when the balance does not cover the total", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 150_000));

    const [failed] = await eventually("payment.failed", async () => (await paymentEvents(orderId)).length > 0 && paymentEvents(orderId));
    expect(failed.type).toBe("payment.failed");
    expect(failed.payload).toMatchObject({
      orderId,
      userId,
      amount: usd(150_000),
      reason: "insufficient funds: the order needs $1,500.00, more than the wallet holds",
    });
    expect((failed.payload as { reason: string }).reason).not.toContain("1,000"); // the balance stays private
    const stored = await em().findOneOrFail(Payment, { orderId });
    expect(stored.status).toBe("FAILED");
    expect(await em().count(Invoice, { payment: stored.id })).toBe(0);
    expect(await balanceOf(userId)).toBe(100_000);
  });

  it("opens the wallet lazily when the charge arrives before user.registered, and only once", async () => {
    const userId = randomUUID();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 1_000));
    await eventually("the charge", async () => (await paymentEvents(orderId)).length > 0);
    const late = event("user.registered", { userId, email: `${userId}@example.com`, name: "Late", role: "CUSTOMER" }, userId);
    await send(late);
    await processed(late);

    expect(await balanceOf(userId)).toBe(99_000);
    expect(await em().count(WalletEntry, { walletId: userId, kind: "OPENING" })).toBe(1);
  });

  it("charges an order once when the same event, or the same order in a new envelope, is redelivered", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    const first = reserved(userId, orderId, 3_000);
    await send(first);
    await send(first);
    const again = reserved(userId, orderId, 3_000);
    await send(again);
    await processed(again);
    await processed(first);

    expect(await em().count(Payment, { orderId })).toBe(1);
    expect((await paymentEvents(orderId)).map((e) => e.type)).toEqual(["payment.captured"]);
    expect(await balanceOf(userId)).toBe(97_000);
  });
});

describe("cancellation", () => {
  it("never charges an order whose cancellation arrived before the reservation", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    const cancel = cancelled(userId, orderId);
    await send(cancel);
    await processed(cancel);
    const late = reserved(userId, orderId, 5_000);
    await send(late);
    await processed(late);

    expect(await em().count(Payment, { orderId })).toBe(0);
    expect(await paymentEvents(orderId)).toEqual([]);
    expect(await balanceOf(userId)).toBe(100_000);
  });

  it("refunds a captured payment once, however often the cancellation is delivered", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 4_000));
    await eventually("the capture", async () => (await balanceOf(userId)) === 96_000);

    await send(cancelled(userId, orderId));
    const again = cancelled(userId, orderId);
    await send(again);
    await processed(again);

    const events = await eventually("payment.refunded", async () => (await paymentEvents(orderId)).length === 2 && paymentEvents(orderId));
    expect(events.map((e) => e.type)).toEqual(["payment.captured", "payment.refunded"]);
    expect(events[1].payload).toMatchObject({ orderId, userId, amount: usd(4_000) });
    const stored = await em().findOneOrFail(Payment, { orderId });
    expect(stored.status).toBe("REFUNDED");
    expect(stored.refundedAt).toBeInstanceOf(Date);
    expect(await balanceOf(userId)).toBe(100_000);
  });

  it("refunds nothing for a failed payment", async () => {
    const userId = await registered();
    const orderId = randomUUID();
    await send(reserved(userId, orderId, 500_000));
    await eventually("payment.failed", async () => (await paymentEvents(orderId)).length > 0);
    const cancel = cancelled(userId, orderId);
    await send(cancel);
    await processed(cancel);

    expect((await paymentEvents(orderId)).map((e) => e.type)).toEqual(["payment.failed"]);
    expect((await em().findOneOrFail(Payment, { orderId })).status).toBe("FAILED");
    expect(await balanceOf(userId)).toBe(100_000);
  });
});

describe("invoice numbers", () => {
  it("stay gap-free under 20 concurrent captures and a rolled-back allocation", async () => {
    // A transaction that takes a number and rolls back must give it back.
    await expect(
      em().transactional(async (tx) => {
        await allocateInvoiceNumber(tx as EntityManager);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");

    const users = await Promise.all(Array.from({ length: 20 }, () => registered()));
    const orders = users.map((userId) => ({ userId, orderId: randomUUID() }));
    await Promise.all(orders.map(({ userId, orderId }) => send(reserved(userId, orderId, 100))));
    await eventually("20 captures", async () => (await em().count(Payment, { orderId: { $in: orders.map((o) => o.orderId) } })) === 20, 20_000);

    const numbers = (await em().find(Invoice, {})).map((invoice) => Number(invoice.number.slice(4))).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
    expect(numbers.length).toBeGreaterThanOrEqual(20);
  });
});

describe("reconciliation", () => {
  it("keeps every balance equal to opening + top-ups − captures + refunds", async () => {
    // A mixed run on one wallet: captures, a failure, a refund, a top-up.
    const userId = await registered();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await send(reserved(userId, a, 30_000));
    await send(reserved(userId, b, 50_000));
    await eventually("two captures", async () => (await balanceOf(userId)) === 20_000);
    await send(reserved(userId, c, 40_000)); // fails: 20,000 left
    await eventually("the failed charge", async () => (await em().findOne(Payment, { orderId: c }))?.status === "FAILED");
    await send(cancelled(userId, a));
    await eventually("the refund", async () => (await balanceOf(userId)) === 50_000);
    await em().transactional(async (tx) => {
      const wallet = await lockWallet(tx as EntityManager, userId, payment.runtime.settings, "test");
      tx.persist(wallet.topUp(7_000, "test"));
    });
    expect(await balanceOf(userId)).toBe(100_000 + 7_000 - 30_000 - 50_000 + 30_000);

    // And across every wallet of the run, from the ledger and from the payments independently.
    const rows = await em().execute<
      { user_id: string; balance: string; opening: string; top_ups: string; captures: string; refunds: string; paid: string; refunded: string }[]
    >(`
      select w.user_id, w.balance_amount as balance,
        coalesce(sum(e.amount) filter (where e.kind = 'OPENING'), 0) as opening,
        coalesce(sum(e.amount) filter (where e.kind = 'TOP_UP'), 0) as top_ups,
        coalesce(-sum(e.amount) filter (where e.kind = 'CAPTURE'), 0) as captures,
        coalesce(sum(e.amount) filter (where e.kind = 'REFUND'), 0) as refunds,
        (select coalesce(sum(p.amount_minor), 0) from payments p where p.user_id = w.user_id and p.status in ('CAPTURED', 'REFUNDED')) as paid,
        (select coalesce(sum(p.amount_minor), 0) from payments p where p.user_id = w.user_id and p.status = 'REFUNDED') as refunded
      from wallets w join wallet_entries e on e.wallet_id = w.user_id
      group by w.user_id, w.balance_amount`);
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      const [balance, opening, topUps, captures, refunds] = [row.balance, row.opening, row.top_ups, row.captures, row.refunds].map(Number);
      expect({ user: row.user_id, balance }).toEqual({ user: row.user_id, balance: opening + topUps - captures + refunds });
      expect({ user: row.user_id, captures, refunds }).toEqual({ user: row.user_id, captures: Number(row.paid), refunds: Number(row.refunded) });
      expect(opening).toBe(100_000);
    }
  });
});
