import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Money } from "@commerce/kit";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { paymentSubgraph } from "./module";
import type { PaymentSettings } from "./settings";
import { Invoice } from "./payment/invoice.entity";
import { Payment } from "./payment/payment.entity";
import { lockWallet, openWallet } from "./wallet/open-wallet";
import { TEST_CARDS } from "./wallet/card-processor";
import { MAX_BALANCE, MAX_CREDIT, Wallet } from "./wallet/wallet.entity";
import { WalletEntry } from "./wallet/wallet-entry.entity";

let payment: TestSubgraph<PaymentSettings>;
const em = (): EntityManager => payment.runtime.orm.em.fork() as EntityManager;
// The stand-in user subgraph: the users it knows, and whether it answers at all.
let userServer: Server;
const knownUsers = new Set<string>();
let userSubgraphDown = false;

beforeAll(async () => {
  userServer = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (userSubgraphDown) return res.writeHead(503).end();
      const { variables } = JSON.parse(body) as { variables: { reps: { id: string }[] } };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: { _entities: variables.reps.map(({ id }) => (knownUsers.has(id) ? { id } : null)) } }));
    });
  });
  await new Promise<void>((resolve) => userServer.listen(0, "127.0.0.1", resolve));
  const port = (userServer.address() as AddressInfo).port;
  payment = await startTestSubgraph(paymentSubgraph, {
    WALLET_OPENING_BALANCE: "5000",
    TOP_UP_MAX: "20000",
    TOP_UP_DAILY_MAX: "50000",
    SUBGRAPH_USER_URL: `http://127.0.0.1:${port}/graphql`,
  });
});
afterAll(async () => {
  await payment?.stop();
  await new Promise((resolve) => userServer?.close(resolve));
});

const TOP_UP = `mutation($userId: ID!, $amount: MoneyInput!, $card: CardInput, $reason: String, $key: String) {
  topUpWallet(userId: $userId, amount: $amount, card: $card, reason: $reason, idempotencyKey: $key) { balance { amount currency } } }`;
const WALLET = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { wallet { balance { amount currency } } } } }`;
const ORDER_PAYMENTS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id payment { id status amount { amount } failureReason invoice { number amount { amount } } } } } }`;
const users = (...ids: string[]) => ({ reps: ids.map((id) => ({ __typename: "User", id })) });
const orders = (...ids: string[]) => ({ reps: ids.map((id) => ({ __typename: "Order", id })) });
const codeOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;

/** A user whose wallet is open, as after `user.registered` was consumed. */
async function registered(): Promise<string> {
  const userId = randomUUID();
  await em().transactional((tx) => openWallet(tx as EntityManager, userId, payment.runtime.settings, "test"));
  return userId;
}

const card = (number: string = TEST_CARDS.approved, more: Record<string, unknown> = {}) => ({
  number,
  expMonth: 12,
  expYear: new Date().getUTCFullYear() + 2,
  cvc: "123",
  ...more,
});
const wallet = async (userId: string) => (await em().findOne(Wallet, { userId }))?.balanceAmount;
const auditRows = (userId: string) =>
  em()
    .getConnection()
    .execute<{ action: string; actor_id: string; details: Record<string, any> }[]>(
      `select action, actor_id, details from audit_log where target_type = 'Wallet' and target_id = ? order by at, id`,
      [userId],
    );

describe("topUpWallet", () => {
  it("lets the owner top up their own wallet with a card, opening it when needed; the entry and the audit row record it", async () => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 1_234 }, card: card("4242 4242 4242 4242") }, asUser(userId));
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ topUpWallet: { balance: { amount: 6_234, currency: "USD" } } });
    const entries = await em().find(WalletEntry, { walletId: userId }, { orderBy: { createdAt: "asc" } });
    expect(entries.map((e) => [e.kind, e.amount, e.createdBy])).toEqual([
      ["OPENING", 5_000, userId],
      ["TOP_UP", 1_234, userId],
    ]);
    const [row] = await auditRows(userId);
    expect(row).toMatchObject({
      action: "wallet.topped_up",
      actor_id: userId,
      details: { amount: { amount: 1_234, currency: "USD" }, cardLast4: "4242" },
    });
    expect(JSON.stringify(row.details)).not.toContain("4242424242424242");
  });

  it("takes a card top-up from the owner only, and a credit with a reason from STAFF or ADMIN only", async () => {
    const userId = await registered();
    const other = { userId, amount: { amount: 100 }, card: card() };
    expect(codeOf(await payment.gql(TOP_UP, other, asUser(randomUUID(), "CUSTOMER")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(TOP_UP, other, null))).toBe("UNAUTHENTICATED");
    // A customer cannot turn a top-up of their own wallet into a credit by giving a reason.
    expect(codeOf(await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, reason: "goodwill" }, asUser(userId)))).toBe("FORBIDDEN");
    const needs = async (vars: Record<string, unknown>, caller: ReturnType<typeof asUser>, field: string) =>
      expect((await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, ...vars }, caller)).errors?.[0]?.extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        field,
      });
    await needs({}, asUser(userId), "card");
    await needs({ card: card() }, asUser(randomUUID(), "ADMIN"), "reason");
    await needs({ reason: "goodwill", card: card() }, asUser(randomUUID(), "STAFF"), "card");
    await needs({ reason: "   " }, asUser(randomUUID(), "STAFF"), "reason");
    await needs({ reason: "good\u202Ewill" }, asUser(randomUUID(), "STAFF"), "reason");
    // Nobody credits their own wallet, whatever their role: a credit is granted by someone else.
    for (const role of ["STAFF", "ADMIN"] as const) {
      const insider = await registered();
      for (const spelling of [insider, insider.toUpperCase()]) {
        const self = await payment.gql(TOP_UP, { userId: spelling, amount: { amount: 100 }, reason: "bonus" }, asUser(insider, role));
        expect(codeOf(self)).toBe("FORBIDDEN");
      }
      expect(await wallet(insider)).toBe(5_000);
    }
    expect(await wallet(userId)).toBe(5_000);

    const staff = randomUUID();
    const credited = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, reason: " refund of a lost parcel " }, asUser(staff, "STAFF"));
    expect(credited.data).toEqual({ topUpWallet: { balance: { amount: 5_100, currency: "USD" } } });
    const admin = await payment.gql(TOP_UP, { userId, amount: { amount: 50 }, reason: "goodwill" }, asUser(randomUUID(), "ADMIN"));
    expect(admin.data).toEqual({ topUpWallet: { balance: { amount: 5_150, currency: "USD" } } });
    const entries = await em().find(WalletEntry, { walletId: userId, kind: "CREDIT" }, { orderBy: { createdAt: "asc" } });
    expect(entries.map((e) => [e.amount, e.reason])).toEqual([
      [100, "refund of a lost parcel"],
      [50, "goodwill"],
    ]);
    expect((await auditRows(userId))[0]).toMatchObject({
      action: "wallet.credited",
      actor_id: staff,
      details: {
        amount: { amount: 100, currency: "USD" },
        reason: "refund of a lost parcel",
        balanceBefore: { amount: 5_000 },
        balanceAfter: { amount: 5_100 },
      },
    });
  });

  it.each([
    ["declined", TEST_CARDS.declined, "CARD_DECLINED"],
    ["insufficient funds", TEST_CARDS.insufficientFunds, "INSUFFICIENT_FUNDS"],
    ["a card the simulated processor does not know", "4111111111111111", "CARD_DECLINED"],
  ])("refuses the %s test card with PAYMENT_DECLINED, writing nothing", async (_name, number, reason) => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, card: card(number) }, asUser(userId));
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "PAYMENT_DECLINED", reason });
    expect(await em().count(Wallet, { userId })).toBe(0);
    expect(await auditRows(userId)).toEqual([]);
  });

  it.each([
    [{ number: "4242424242424241" }, "card.number"],
    [{ expMonth: 13 }, "card.expMonth"],
    [{ expMonth: 1, expYear: 2020 }, "card.expYear"],
    [{ cvc: "12" }, "card.cvc"],
  ])("refuses the card %p naming %s", async (change, field) => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, card: { ...card(), ...change } }, asUser(userId));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(await em().count(Wallet, { userId })).toBe(0);
  });

  it("limits a card top-up (TOP_UP_MAX) and a wallet's card top-ups over 24 hours (TOP_UP_DAILY_MAX); credits are not card top-ups", async () => {
    const userId = await registered();
    const topUp = (amount: number) => payment.gql(TOP_UP, { userId, amount: { amount }, card: card() }, asUser(userId));
    expect((await topUp(20_001)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount.amount" });
    for (const amount of [20_000, 20_000, 10_000]) expect((await topUp(amount)).errors).toBeUndefined();
    const over = await topUp(1);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount.amount" });
    expect(over.errors?.[0]?.message).toContain("24 hours");
    expect(await wallet(userId)).toBe(55_000);
    const credit = await payment.gql(TOP_UP, { userId, amount: { amount: 1_000 }, reason: "goodwill" }, asUser(randomUUID(), "ADMIN"));
    expect(credit.data).toEqual({ topUpWallet: { balance: { amount: 56_000, currency: "USD" } } });
  });

  it("applies a key once: the same request again answers without adding; another request with it is CONFLICT naming idempotencyKey", async () => {
    const userId = await registered();
    const vars = { userId, amount: { amount: 700 }, card: card(), key: "top-up-1" };
    const results = await Promise.all(Array.from({ length: 5 }, () => payment.gql(TOP_UP, vars, asUser(userId))));
    for (const result of results) expect(result.data).toEqual({ topUpWallet: { balance: { amount: 5_700, currency: "USD" } } });
    for (const changed of [
      { ...vars, amount: { amount: 701 } },
      { ...vars, card: card(TEST_CARDS.approved, { expMonth: 11 }) },
    ]) {
      const result = await payment.gql(TOP_UP, changed, asUser(userId));
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", field: "idempotencyKey" });
    }
    // A key is the caller's: an ADMIN's credit with the same key is another request of another caller.
    const admin = await payment.gql(TOP_UP, { userId, amount: { amount: 300 }, reason: "goodwill", key: "top-up-1" }, asUser(randomUUID(), "ADMIN"));
    expect(admin.data).toEqual({ topUpWallet: { balance: { amount: 6_000, currency: "USD" } } });
    expect(await em().count(WalletEntry, { walletId: userId, kind: "TOP_UP" })).toBe(1);
  });

  it("with one key on two wallets at once, one credit is applied and the other is a CONFLICT", async () => {
    const [a, b] = [await registered(), await registered()];
    const admin = asUser(randomUUID(), "ADMIN");
    const results = await Promise.all(
      [a, b].map((userId) => payment.gql(TOP_UP, { userId, amount: { amount: 100 }, reason: "goodwill", key: "shared" }, admin)),
    );
    expect(results.map((r) => (r.data ? "data" : r.errors?.[0]?.extensions?.code)).sort()).toEqual(["CONFLICT", "data"]);
    expect((await wallet(a))! + (await wallet(b))!).toBe(10_100);
  });

  it.each([
    [0, "USD", "amount.amount"],
    [-5, "USD", "amount.amount"],
    [100, "EUR", "amount.currency"],
    [100, "usd", "amount.currency"],
  ])("refuses %p %s naming %s and changes nothing", async (amount, currency, field) => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount, currency }, card: card() }, asUser(userId));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(await em().count(Wallet, { userId })).toBe(0);
  });

  it("refuses a credit above MAX_CREDIT naming amount.amount, and accepts MAX_CREDIT", async () => {
    const userId = await registered();
    const admin = asUser(randomUUID(), "ADMIN");
    const over = await payment.gql(TOP_UP, { userId, amount: { amount: MAX_CREDIT + 1 }, reason: "goodwill" }, admin);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount.amount" });
    const max = await payment.gql(TOP_UP, { userId, amount: { amount: MAX_CREDIT }, reason: "goodwill" }, admin);
    expect(max.data).toEqual({ topUpWallet: { balance: { amount: MAX_CREDIT + 5_000, currency: "USD" } } });
  });

  it("refuses a credit for a malformed user id (BAD_USER_INPUT) or an unknown user (NOT_FOUND), opening nothing", async () => {
    const admin = asUser(randomUUID(), "ADMIN");
    const malformed = await payment.gql(TOP_UP, { userId: "xx", amount: { amount: 100 }, reason: "goodwill" }, admin);
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "userId" });
    const unknown = randomUUID();
    const missing = await payment.gql(TOP_UP, { userId: unknown, amount: { amount: 100 }, reason: "goodwill" }, admin);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "userId" });
    expect(await em().count(Wallet, { userId: { $in: ["xx", unknown] } })).toBe(0);
    expect(await em().count(WalletEntry, { walletId: { $in: ["xx", unknown] } })).toBe(0);
  });

  it("lets an ADMIN credit a user who registered a moment ago, before user.registered opened the wallet", async () => {
    const userId = randomUUID();
    knownUsers.add(userId);
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, reason: "welcome" }, asUser(randomUUID(), "ADMIN"));
    expect(result.data).toEqual({ topUpWallet: { balance: { amount: 5_100, currency: "USD" } } });
    expect(await em().count(WalletEntry, { walletId: userId, kind: "OPENING" })).toBe(1);
  });

  it("opens nothing for an ADMIN while the user subgraph cannot say whether the user exists", async () => {
    const userId = randomUUID();
    knownUsers.add(userId);
    userSubgraphDown = true;
    try {
      const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, reason: "welcome" }, asUser(randomUUID(), "ADMIN"));
      expect(codeOf(result)).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      userSubgraphDown = false;
    }
    expect(await em().count(Wallet, { userId })).toBe(0);
  });

  it("refuses a top-up that would take the balance above its cap (room below the largest Int), and keeps the wallet readable", async () => {
    const userId = await registered();
    // Bring the balance near the limit through the ledger, as ~100 maximal credits would.
    await em().transactional(async (tx) => {
      const locked = await lockWallet(tx as EntityManager, userId, payment.runtime.settings, "test");
      tx.persist(locked.credit(MAX_BALANCE - 5_000 - 100, "test", "test"));
    });
    const toTheLimit = await payment.gql(TOP_UP, { userId, amount: { amount: 100 }, card: card() }, asUser(userId));
    expect(toTheLimit.data).toEqual({ topUpWallet: { balance: { amount: MAX_BALANCE, currency: "USD" } } });

    const over = await payment.gql(TOP_UP, { userId, amount: { amount: 1 }, card: card() }, asUser(userId));
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount.amount" });
    expect(await wallet(userId)).toBe(MAX_BALANCE);
    expect(await em().count(WalletEntry, { walletId: userId, kind: "TOP_UP" })).toBe(1);
    const read = await payment.gql(WALLET, users(userId), asUser(userId));
    expect(read.data).toEqual({ _entities: [{ wallet: { balance: { amount: MAX_BALANCE, currency: "USD" } } }] });
  });
});

describe("Wallet.entries", () => {
  const ENTRIES = `query($reps: [_Any!]!, $first: Int, $after: String) { _entities(representations: $reps) { ... on User {
    wallet { entries(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id kind amount { amount currency } at orderId reason } } } } } } }`;

  it("pages the ledger newest first, an opening balance as a CREDIT; the owner and ADMIN only", async () => {
    const userId = await registered();
    await payment.gql(TOP_UP, { userId, amount: { amount: 700 }, card: card() }, asUser(userId));
    await payment.gql(TOP_UP, { userId, amount: { amount: 300 }, reason: "goodwill" }, asUser(randomUUID(), "STAFF"));
    const orderId = randomUUID();
    await em().transactional(async (tx) => {
      const locked = await lockWallet(tx as EntityManager, userId, payment.runtime.settings, "test");
      const outcome = locked.charge(Money.of(2_000, "USD"), { orderId, paymentId: randomUUID(), by: "test" });
      if (outcome.kind === "debited") tx.persist(outcome.entry);
    });
    const page = async (after: string | null) => {
      const result = await payment.gql<{ _entities: { wallet: { entries: any } }[] }>(ENTRIES, { ...users(userId), first: 2, after }, asUser(userId));
      expect(result.errors).toBeUndefined();
      return result.data!._entities[0].wallet.entries;
    };
    const first = await page(null);
    expect(first.totalCount).toBe(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const nodes = [...first.edges, ...second.edges].map((e: any) => e.node);
    expect(nodes.map((n: any) => [n.kind, n.amount.amount, n.orderId, n.reason])).toEqual([
      ["CAPTURE", -2_000, orderId, null],
      ["CREDIT", 300, null, "goodwill"],
      ["TOP_UP", 700, null, null],
      ["CREDIT", 5_000, null, "opening balance"],
    ]);
    expect(nodes.reduce((sum: number, n: any) => sum + n.amount.amount, 0)).toBe(await wallet(userId));

    expect((await payment.gql(ENTRIES, users(userId), asUser(randomUUID(), "ADMIN"))).errors).toBeUndefined();
    expect(codeOf(await payment.gql(ENTRIES, users(userId), asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(ENTRIES, users(userId), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect((await payment.gql(ENTRIES, { ...users(userId), after: "nope" }, asUser(userId))).errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "after",
    });
  });
});

describe("User.wallet", () => {
  it("shows the wallet to its owner and ADMIN only (a customer reading another user's wallet is FORBIDDEN)", async () => {
    const owner = randomUUID();
    await payment.gql(TOP_UP, { userId: owner, amount: { amount: 1 }, card: card() }, asUser(owner));
    expect((await payment.gql(WALLET, users(owner), asUser(owner))).data).toEqual({
      _entities: [{ wallet: { balance: { amount: 5_001, currency: "USD" } } }],
    });
    expect((await payment.gql(WALLET, users(owner), asUser(randomUUID(), "ADMIN"))).data).toEqual({
      _entities: [{ wallet: { balance: { amount: 5_001, currency: "USD" } } }],
    });
    expect(codeOf(await payment.gql(WALLET, users(owner), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(WALLET, users(owner), asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(WALLET, users(owner), null))).toBe("UNAUTHENTICATED");
  });

  it("shows the opening balance before the wallet is opened", async () => {
    const userId = randomUUID();
    expect((await payment.gql(WALLET, users(userId), asUser(userId))).data).toEqual({
      _entities: [{ wallet: { balance: { amount: 5_000, currency: "USD" } } }],
    });
  });
});

/** Seeds `count` orders of one user: captured ones with invoices, every third failed. */
async function seedPayments(userId: string, count: number): Promise<string[]> {
  const orderIds = Array.from({ length: count }, () => randomUUID());
  await em().transactional(async (tx) => {
    orderIds.forEach((orderId, i) => {
      if (i % 3 === 2) return tx.persist(Payment.failed(orderId, userId, { amount: 10 + i, currency: "USD" }, "insufficient funds"));
      const captured = Payment.captured(randomUUID(), orderId, userId, { amount: 10 + i, currency: "USD" });
      tx.persist([captured, new Invoice(captured, `TEST-${orderId}`)]);
    });
  });
  return orderIds;
}

describe("Order.payment", () => {
  it("shows the payment and invoice to the owner, STAFF and ADMIN; null before the charge; FORBIDDEN to others", async () => {
    const owner = randomUUID();
    const [captured, , failed] = await seedPayments(owner, 3);
    const unpaid = randomUUID();
    const mine = await payment.gql(ORDER_PAYMENTS, orders(captured, failed, unpaid), asUser(owner));
    expect(mine.errors).toBeUndefined();
    expect(mine.data).toEqual({
      _entities: [
        {
          id: captured,
          payment: {
            id: expect.any(String),
            status: "CAPTURED",
            amount: { amount: 10 },
            failureReason: null,
            invoice: { number: `TEST-${captured}`, amount: { amount: 10 } },
          },
        },
        {
          id: failed,
          payment: { id: expect.any(String), status: "FAILED", amount: { amount: 12 }, failureReason: "insufficient funds", invoice: null },
        },
        { id: unpaid, payment: null },
      ],
    });
    for (const role of ["STAFF", "ADMIN"] as const) {
      expect((await payment.gql(ORDER_PAYMENTS, orders(captured), asUser(randomUUID(), role))).errors).toBeUndefined();
    }
    expect(codeOf(await payment.gql(ORDER_PAYMENTS, orders(captured), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(ORDER_PAYMENTS, orders(captured), null))).toBe("UNAUTHENTICATED");
  });

  it("resolves 50 orders' payments and invoices with as many SQL statements as 5", async () => {
    const owner = randomUUID();
    const orderIds = await seedPayments(owner, 50);
    const statementsFor = async (ids: string[]) => {
      const knex = payment.runtime.orm.em.getConnection().getKnex();
      const seen: string[] = [];
      const listener = (query: { sql: string }) => {
        if (/"(payments|invoices)"/.test(query.sql)) seen.push(query.sql);
      };
      knex.on("query", listener);
      try {
        const result = await payment.gql(ORDER_PAYMENTS, orders(...ids), asUser(owner));
        expect(result.errors).toBeUndefined();
        expect((result.data as { _entities: unknown[] })._entities).toHaveLength(ids.length);
      } finally {
        knex.removeListener("query", listener);
      }
      return seen.length;
    };
    const five = await statementsFor(orderIds.slice(0, 5));
    const fifty = await statementsFor(orderIds);
    expect(five).toBe(2);
    expect(fifty).toBe(five);
  });
});
