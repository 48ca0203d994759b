import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { EntityManager } from "@mikro-orm/postgresql";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { paymentSubgraph } from "./module";
import type { PaymentSettings } from "./settings";
import { Invoice } from "./payment/invoice.entity";
import { Payment } from "./payment/payment.entity";
import { lockWallet, openWallet } from "./wallet/open-wallet";
import { MAX_BALANCE, Wallet } from "./wallet/wallet.entity";
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
  payment = await startTestSubgraph(paymentSubgraph, { WALLET_OPENING_BALANCE: "5000", SUBGRAPH_USER_URL: `http://127.0.0.1:${port}/graphql` });
});
afterAll(async () => {
  await payment?.stop();
  await new Promise((resolve) => userServer?.close(resolve));
});

const TOP_UP = `mutation($userId: ID!, $amount: MoneyInput!) { topUpWallet(userId: $userId, amount: $amount) { balance { amount currency } } }`;
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

describe("topUpWallet", () => {
  it("lets the user top up their own wallet, opening it when needed, and records the entry", async () => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 1_234 } }, asUser(userId));
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ topUpWallet: { balance: { amount: 6_234, currency: "USD" } } });
    const entries = await em().find(WalletEntry, { walletId: userId }, { orderBy: { createdAt: "asc" } });
    expect(entries.map((e) => [e.kind, e.amount, e.createdBy])).toEqual([
      ["OPENING", 5_000, userId],
      ["TOP_UP", 1_234, userId],
    ]);
  });

  it("lets an ADMIN top up anyone, and nobody else", async () => {
    const userId = await registered();
    const vars = { userId, amount: { amount: 100, currency: "USD" } };
    expect((await payment.gql(TOP_UP, vars, asUser(randomUUID(), "ADMIN"))).data).toEqual({ topUpWallet: { balance: { amount: 5_100, currency: "USD" } } });
    expect(codeOf(await payment.gql(TOP_UP, vars, asUser(randomUUID(), "CUSTOMER")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(TOP_UP, vars, asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(TOP_UP, vars, null))).toBe("UNAUTHENTICATED");
    expect((await em().findOneOrFail(Wallet, { userId })).balanceAmount).toBe(5_100);
  });

  it.each([
    [0, "USD", "amount.amount"],
    [-5, "USD", "amount.amount"],
    [10_000_001, "USD", "amount.amount"],
    [100, "EUR", "amount.currency"],
    [100, "usd", "amount.currency"],
  ])("refuses %p %s naming %s and changes nothing", async (amount, currency, field) => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount, currency } }, asUser(userId));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(await em().count(Wallet, { userId })).toBe(0);
  });

  it("refuses an ADMIN top-up for a malformed user id (BAD_USER_INPUT) or an unknown user (NOT_FOUND), opening nothing", async () => {
    const admin = asUser(randomUUID(), "ADMIN");
    const malformed = await payment.gql(TOP_UP, { userId: "xx", amount: { amount: 100 } }, admin);
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "userId" });
    const unknown = randomUUID();
    const missing = await payment.gql(TOP_UP, { userId: unknown, amount: { amount: 100 } }, admin);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "userId" });
    expect(await em().count(Wallet, { userId: { $in: ["xx", unknown] } })).toBe(0);
    expect(await em().count(WalletEntry, { walletId: { $in: ["xx", unknown] } })).toBe(0);
  });

  it("lets an ADMIN top up a user who registered a moment ago, before user.registered opened the wallet", async () => {
    const userId = randomUUID();
    knownUsers.add(userId);
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 } }, asUser(randomUUID(), "ADMIN"));
    expect(result.data).toEqual({ topUpWallet: { balance: { amount: 5_100, currency: "USD" } } });
    expect(await em().count(WalletEntry, { walletId: userId, kind: "OPENING" })).toBe(1);
  });

  it("opens nothing for an ADMIN while the user subgraph cannot say whether the user exists", async () => {
    const userId = randomUUID();
    knownUsers.add(userId);
    userSubgraphDown = true;
    try {
      const result = await payment.gql(TOP_UP, { userId, amount: { amount: 100 } }, asUser(randomUUID(), "ADMIN"));
      expect(codeOf(result)).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      userSubgraphDown = false;
    }
    expect(await em().count(Wallet, { userId })).toBe(0);
  });

  it("refuses a top-up that would take the balance above its cap (room below the largest Int), and keeps the wallet readable", async () => {
    const userId = await registered();
    // Bring the balance near the limit through the ledger, as ~200 maximal top-ups would.
    await em().transactional(async (tx) => {
      const wallet = await lockWallet(tx as EntityManager, userId, payment.runtime.settings, "test");
      tx.persist(wallet.topUp(MAX_BALANCE - 5_000 - 100, "test"));
    });
    const toTheLimit = await payment.gql(TOP_UP, { userId, amount: { amount: 100 } }, asUser(userId));
    expect(toTheLimit.data).toEqual({ topUpWallet: { balance: { amount: MAX_BALANCE, currency: "USD" } } });

    const over = await payment.gql(TOP_UP, { userId, amount: { amount: 1 } }, asUser(userId));
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount.amount" });
    expect((await em().findOneOrFail(Wallet, { userId })).balanceAmount).toBe(MAX_BALANCE);
    expect(await em().count(WalletEntry, { walletId: userId, kind: "TOP_UP" })).toBe(2);
    const read = await payment.gql(WALLET, users(userId), asUser(userId));
    expect(read.data).toEqual({ _entities: [{ wallet: { balance: { amount: MAX_BALANCE, currency: "USD" } } }] });
  });

  it("accepts the largest allowed top-up", async () => {
    const userId = randomUUID();
    const result = await payment.gql(TOP_UP, { userId, amount: { amount: 10_000_000 } }, asUser(userId));
    expect(result.data).toEqual({ topUpWallet: { balance: { amount: 10_005_000, currency: "USD" } } });
  });
});

describe("User.wallet", () => {
  it("shows the wallet to its owner and ADMIN only (a customer reading another user's wallet is FORBIDDEN)", async () => {
    const owner = randomUUID();
    await payment.gql(TOP_UP, { userId: owner, amount: { amount: 1 } }, asUser(owner));
    expect((await payment.gql(WALLET, users(owner), asUser(owner))).data).toEqual({ _entities: [{ wallet: { balance: { amount: 5_001, currency: "USD" } } }] });
    expect((await payment.gql(WALLET, users(owner), asUser(randomUUID(), "ADMIN"))).data).toEqual({ _entities: [{ wallet: { balance: { amount: 5_001, currency: "USD" } } }] });
    expect(codeOf(await payment.gql(WALLET, users(owner), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(WALLET, users(owner), asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
    expect(codeOf(await payment.gql(WALLET, users(owner), null))).toBe("UNAUTHENTICATED");
  });

  it("shows the opening balance before the wallet is opened", async () => {
    const userId = randomUUID();
    expect((await payment.gql(WALLET, users(userId), asUser(userId))).data).toEqual({ _entities: [{ wallet: { balance: { amount: 5_000, currency: "USD" } } }] });
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
        { id: captured, payment: { id: expect.any(String), status: "CAPTURED", amount: { amount: 10 }, failureReason: null, invoice: { number: `TEST-${captured}`, amount: { amount: 10 } } } },
        { id: failed, payment: { id: expect.any(String), status: "FAILED", amount: { amount: 12 }, failureReason: "insufficient funds", invoice: null } },
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
