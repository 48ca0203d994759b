/**
 * Live order status through the gateway: graphql-ws and Apollo Client
 * subscribers see the current state, then each status change once and in
 * order, with fields from every subgraph, across gateway replicas and restarts.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type * as ApolloCore from "@apollo/client/core" with { "resolution-mode": "import" };
import type * as ApolloSubscriptions from "@apollo/client/link/subscriptions" with { "resolution-mode": "import" };
import { createClient, type Client, type ClientOptions } from "graphql-ws";
import { Client as PgClient } from "pg";
import WebSocket from "ws";
import { loadGatewayConfig, startGateway, type RunningGateway } from "@commerce/gateway";
import { smtpSink, type Platform } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

// Apollo Client 3 runs as CommonJS (its core.cjs) but its types are marked ESM: load the CommonJS build by hand.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ApolloClient, InMemoryCache, gql } = require("@apollo/client/core") as typeof ApolloCore;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { GraphQLWsLink } = require("@apollo/client/link/subscriptions") as typeof ApolloSubscriptions;

let platform: Platform;
let admin: Account;
let staff: Account;
const PER_CONNECTION = 5;
const disposers: (() => unknown)[] = [];

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin({
    serviceEnv: { gateway: { MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION), LOG_LEVEL: process.env.SUBS_GATEWAY_LOG_LEVEL ?? "warn" } },
  }));
  staff = await signUp(platform.gatewayUrl, admin, "STAFF");
}, 120_000);
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});
afterAll(() => platform?.stop());

const ORDER_EVENT = `subscription($id: ID!) {
  orderStatusChanged(orderId: $id) {
    id status failureReason
    user { email }
    items { quantity product { name } }
    payment { status invoice { number } }
    notifications { channel }
  }
}`;
const MY_ORDERS = `subscription { myOrderUpdates { id status user { email } } }`;

interface OrderEvent {
  id: string;
  status: string;
  failureReason: string | null;
  user: { email: string };
  items: { quantity: number; product: { name: string } }[];
  payment: { status: string; invoice: { number: string } | null } | null;
  notifications: { channel: string }[];
}
type ErrorList = { message: string; extensions?: { code?: string } }[];

/** A graphql-ws client (the real one) that records its opens and closes. */
function wsClient(token: string | null, options: Partial<ClientOptions> = {}, url = platform.wsUrl) {
  const stats = { connected: 0, closeCodes: [] as number[] };
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    on: { connected: () => void stats.connected++, closed: (event) => void stats.closeCodes.push((event as { code: number }).code) },
    ...options,
  });
  disposers.push(() => client.dispose());
  return { client, stats };
}

interface Seen<T> {
  events: T[];
  errors: unknown[];
  completed: boolean;
}

/** Subscribes and records what arrives. */
function watch<T = { orderStatusChanged: OrderEvent }>(client: Client, query: string, variables: Record<string, unknown> = {}): Seen<T> {
  const seen: Seen<T> = { events: [], errors: [], completed: false };
  client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) seen.errors.push(result.errors);
        if (result.data) seen.events.push(result.data as T);
      },
      error: (error) => void seen.errors.push(error),
      complete: () => void (seen.completed = true),
    },
  );
  return seen;
}

const until = (probe: () => boolean, what: string, timeoutMs = 15_000) => eventually(what, async () => probe(), timeoutMs);
const statuses = (events: { orderStatusChanged: OrderEvent }[]) => events.map((event) => event.orderStatusChanged.status);
const codeOf = (error: unknown) => (error as ErrorList)[0]?.extensions?.code;

async function staffMoves(orderId: string, mutation: "shipOrder" | "completeOrder") {
  await staff.client.request(`mutation($id: ID!) { ${mutation}(id: $id) { status } }`, { id: orderId });
}

async function subscriptionCount(): Promise<number> {
  const text = await (await fetch(platform.gatewayUrl.replace(/\/graphql$/, "/metrics"))).text();
  return Number(/^graphql_subscriptions(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/** One more gateway process on the platform's environment, stopped after the test. */
async function startReplica(env: Record<string, string> = {}): Promise<RunningGateway> {
  const supergraph = path.join(__dirname, "..", "..", "schema", "supergraph.graphql");
  const replica = await startGateway(loadGatewayConfig({ ...platform.env, PORT: "0", LOG_LEVEL: "warn", SUPERGRAPH_PATH: supergraph, ...env }));
  disposers.push(() => replica.stop());
  return replica;
}

describe("orderStatusChanged over graphql-ws", () => {
  it("sends the current state, then every change with fields of every subgraph, then completes (graphql-ws and Apollo Client)", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 1500, stock: 10, name: "Live Status Lamp" });
    // Holding the product's stock rows (as a concurrent reservation would) keeps the order PENDING
    // until both clients have subscribed, so the whole path PENDING → … is observable.
    const stockLock = new PgClient({ connectionString: platform.databases.product.url });
    await stockLock.connect();
    disposers.push(() => stockLock.end());
    await stockLock.query("begin");
    await stockLock.query("select 1 from stock_levels where product_id = $1 for update", [productId]);
    const raw = wsClient(customer.token);
    const apolloEvents: OrderEvent[] = [];
    let apolloDone = false;
    const placed = await placeOrder(customer, [{ productId, quantity: 2 }]);
    const seen = watch(raw.client, ORDER_EVENT, { id: placed.id });
    const { client: apolloWs } = wsClient(customer.token);
    const apollo = new ApolloClient({ link: new GraphQLWsLink(apolloWs), cache: new InMemoryCache() });
    const subscription = apollo
      .subscribe<{ orderStatusChanged: OrderEvent }>({ query: gql(ORDER_EVENT), variables: { id: placed.id }, fetchPolicy: "no-cache" })
      .subscribe({
        next: ({ data }) => void (data && apolloEvents.push(data.orderStatusChanged)),
        error: (error) => void apolloEvents.push({ status: `error: ${error}` } as OrderEvent),
        complete: () => void (apolloDone = true),
      });
    disposers.push(() => subscription.unsubscribe());
    try {
      await until(() => seen.events.length + seen.errors.length >= 1 && apolloEvents.length >= 1, "the initial state");
    } finally {
      await stockLock.query("rollback");
    }
    expect(statuses(seen.events)).toEqual(["PENDING"]);
    await until(() => statuses(seen.events).includes("CONFIRMED") && apolloEvents.some((e) => e.status === "CONFIRMED"), "CONFIRMED", 30_000);

    await smtpSink.waitFor(customer.email, (message) => /confirm/i.test(message.subject ?? ""));
    await staffMoves(placed.id, "shipOrder");
    await staffMoves(placed.id, "completeOrder");
    await until(() => seen.completed && apolloDone, "both subscriptions to complete");

    const expected = ["PENDING", "STOCK_RESERVED", "CONFIRMED", "SHIPPED", "COMPLETED"];
    expect(seen.errors).toEqual([]);
    expect(statuses(seen.events)).toEqual(expected);
    expect(apolloEvents.map((event) => event.status)).toEqual(expected);
    for (const event of [...seen.events.map((e) => e.orderStatusChanged), ...apolloEvents]) {
      expect(event.id).toBe(placed.id);
      expect(event.user.email).toBe(customer.email);
      expect(event.items).toEqual([expect.objectContaining({ quantity: 2, product: expect.objectContaining({ name: "Live Status Lamp" }) })]);
    }
    const byStatus = Object.fromEntries(seen.events.map((e) => [e.orderStatusChanged.status, e.orderStatusChanged]));
    expect(byStatus.PENDING.payment).toBeNull();
    expect(byStatus.CONFIRMED.payment).toMatchObject({ status: "CAPTURED", invoice: { number: expect.stringMatching(/\S/) } });
    expect(byStatus.SHIPPED.notifications.map((n) => n.channel)).toContain("EMAIL");
  }, 60_000);

  it("ends with PAYMENT_FAILED when the wallet is short, and completes", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 60000, stock: 5 });
    const placed = await placeOrder(customer, [{ productId, quantity: 2 }]);
    const seen = watch(wsClient(customer.token).client, ORDER_EVENT, { id: placed.id });
    await until(() => seen.completed, "the subscription to complete");
    const got = statuses(seen.events);
    // The first event is whatever the order was when subscribing; from there on every change, once.
    expect(["PENDING", "STOCK_RESERVED", "PAYMENT_FAILED"].slice(-got.length)).toEqual(got);
    const last = seen.events[seen.events.length - 1].orderStatusChanged;
    expect(last.failureReason).toMatch(/insufficient/i);
    expect(last.payment?.status).toBe("FAILED");
  });

  it("reaches a subscriber on another gateway replica", async () => {
    const replica = await startReplica();
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 700, stock: 3 });
    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    await waitForStatus(customer, placed.id, ["CONFIRMED"]);

    const seen = watch(wsClient(customer.token, {}, replica.url.replace(/^http/, "ws")).client, ORDER_EVENT, { id: placed.id });
    await until(() => seen.events.length === 1, "the initial state from the replica");
    await staffMoves(placed.id, "shipOrder"); // through the other gateway
    await staffMoves(placed.id, "completeOrder");
    await until(() => seen.completed, "the replica's subscription to complete");
    expect(statuses(seen.events)).toEqual(["CONFIRMED", "SHIPPED", "COMPLETED"]);
  });

  it("counts each subscribe against its client address's rate limit, as HTTP operations are", async () => {
    const replica = await startReplica({ TRUST_PROXY: "loopback", RATE_LIMIT_IP_PER_MINUTE: "3" });
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 300, stock: 5 });
    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    // The address a proxy in front of the gateway reports for this client.
    const ip = `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
    class BehindProxy extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { "x-forwarded-for": ip } });
      }
    }
    const { client, stats } = wsClient(customer.token, { lazy: false, webSocketImpl: BehindProxy }, replica.url.replace(/^http/, "ws"));
    const all = Array.from({ length: 4 }, () => watch(client, ORDER_EVENT, { id: placed.id }));
    await until(() => all.every((s) => s.events.length + s.errors.length > 0), "every subscription to answer");
    const answers = all.map((s) => (s.errors.length ? codeOf(s.errors[0]) : "ok"));
    expect(answers.filter((answer) => answer === "ok")).toHaveLength(3);
    expect(answers.filter((answer) => answer !== "ok")).toEqual(["RATE_LIMITED"]);
    expect(stats.closeCodes).toEqual([]);
    // One budget: the address's HTTP operations are refused now too.
    const http = await fetch(replica.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(http.status).toBe(429);
  });

  it("refuses strangers, unknown orders and anonymous callers, and the connection stays usable", async () => {
    const owner = await signUp(platform.gatewayUrl);
    const stranger = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 500, stock: 10 });
    const theirs = await placeOrder(owner, [{ productId, quantity: 1 }]);
    const mine = await placeOrder(stranger, [{ productId, quantity: 1 }]);
    await waitForStatus(stranger, mine.id, ["CONFIRMED"]);

    const { client, stats } = wsClient(stranger.token, { lazy: false });
    const forbidden = watch(client, ORDER_EVENT, { id: theirs.id });
    const unknown = watch(client, ORDER_EVENT, { id: randomUUID() });
    await until(() => forbidden.errors.length > 0 && unknown.errors.length > 0, "both refusals");
    expect(codeOf(forbidden.errors[0])).toBe("FORBIDDEN");
    expect(codeOf(unknown.errors[0])).toBe("NOT_FOUND");
    const own = watch(client, ORDER_EVENT, { id: mine.id });
    await until(() => own.events.length === 1, "the stranger's own order");
    expect(statuses(own.events)).toEqual(["CONFIRMED"]);

    // Beyond the per-connection limit: RATE_LIMITED, and the socket stays up.
    const extra = Array.from({ length: PER_CONNECTION }, () => watch(client, ORDER_EVENT, { id: mine.id }));
    await until(() => extra.every((s) => s.events.length + s.errors.length > 0), "the extra subscriptions to answer");
    // `own` holds one slot: one of these is over the limit.
    const answers = extra.map((s) => (s.errors.length ? codeOf(s.errors[0]) : "ok"));
    expect(answers.filter((answer) => answer === "ok")).toHaveLength(PER_CONNECTION - 1);
    expect(answers.filter((answer) => answer !== "ok")).toEqual(["RATE_LIMITED"]);
    expect(stats).toEqual({ connected: 1, closeCodes: [] });

    const anonymous = wsClient(null, { lazy: false });
    const first = watch(anonymous.client, ORDER_EVENT, { id: mine.id });
    const mine2 = watch(anonymous.client, MY_ORDERS);
    await until(() => first.errors.length > 0 && mine2.errors.length > 0, "UNAUTHENTICATED");
    expect([codeOf(first.errors[0]), codeOf(mine2.errors[0])]).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED"]);
    expect(anonymous.stats).toEqual({ connected: 1, closeCodes: [] });

    // A token that does not verify is refused at connection_init with 4403, which clients answer by refreshing it.
    const forged = wsClient("not-a-token", { lazy: false });
    const refused = watch(forged.client, MY_ORDERS);
    await until(() => refused.errors.length > 0, "the 4403 close");
    expect(forged.stats).toEqual({ connected: 0, closeCodes: [4403] });
  });

  it("pings idle connections (keep-alive)", async () => {
    const socket = new WebSocket(platform.wsUrl, "graphql-transport-ws");
    disposers.push(() => socket.terminate());
    let pinged = false;
    socket.on("ping", () => void (pinged = true));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${staff.token}` } }));
    await until(() => pinged, "a ping from the gateway", 10_000);
  });

  it("after a gateway restart, a reconnecting client gets the current state again, then the next changes", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 900, stock: 3 });
    const placed = await placeOrder(customer, [{ productId, quantity: 1 }]);
    await waitForStatus(customer, placed.id, ["CONFIRMED"]);
    // While the gateway is down a connect attempt fails with a socket error, which graphql-ws retries only when told to.
    const { client, stats } = wsClient(customer.token, {
      retryAttempts: 200,
      shouldRetry: () => true,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 200)),
    });
    const seen = watch(client, ORDER_EVENT, { id: placed.id });
    await until(() => seen.events.length === 1, "the initial state");

    await platform.restart("gateway");
    await until(() => seen.events.length === 2, "the state again after reconnecting", 30_000);
    expect(stats.closeCodes[0]).toBe(1001); // going away: a clean close, not a dropped socket
    await staffMoves(placed.id, "shipOrder");
    await until(() => seen.events.length === 3, "the change after reconnecting");
    expect(statuses(seen.events)).toEqual(["CONFIRMED", "CONFIRMED", "SHIPPED"]);
    expect(seen.errors).toEqual([]);
  }, 60_000);
});

describe("myOrderUpdates", () => {
  it("streams a customer's own orders only, and every order to STAFF", async () => {
    const alice = await signUp(platform.gatewayUrl);
    const bob = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 400, stock: 10 });
    await eventually("earlier subscriptions to end", async () => (await subscriptionCount()) === 0);
    type Update = { myOrderUpdates: { id: string; status: string; user: { email: string } } };
    const forAlice = watch<Update>(wsClient(alice.token).client, MY_ORDERS);
    const forStaff = watch<Update>(wsClient(staff.token).client, MY_ORDERS);
    await eventually("both subscriptions to start", async () => (await subscriptionCount()) === 2);

    const aliceOrder = await placeOrder(alice, [{ productId, quantity: 1 }]);
    const bobOrder = await placeOrder(bob, [{ productId, quantity: 1 }]);
    const path = ["PENDING", "STOCK_RESERVED", "CONFIRMED"];
    const of = (updates: Update[], id: string) => updates.filter((u) => u.myOrderUpdates.id === id).map((u) => u.myOrderUpdates.status);
    await until(
      () => of(forStaff.events, aliceOrder.id).length === 3 && of(forStaff.events, bobOrder.id).length === 3,
      "staff to see both orders",
      20_000,
    );
    await until(() => of(forAlice.events, aliceOrder.id).length === 3, "alice to see her order");
    expect(of(forStaff.events, aliceOrder.id)).toEqual(path);
    expect(of(forStaff.events, bobOrder.id)).toEqual(path);
    expect(of(forAlice.events, aliceOrder.id)).toEqual(path);
    expect(new Set(forAlice.events.map((u) => u.myOrderUpdates.id))).toEqual(new Set([aliceOrder.id]));
    expect(forAlice.events.every((u) => u.myOrderUpdates.user.email === alice.email)).toBe(true);
    expect(forStaff.events.find((u) => u.myOrderUpdates.id === bobOrder.id)?.myOrderUpdates.user.email).toBe(bob.email);
  });
});

describe("myNotifications", () => {
  const MINE = `subscription { myNotifications { id channel template body status } }`;
  type Pushed = { myNotifications: { id: string; channel: string; template: string; body: string; status: string } };
  const stored = async (account: Account) =>
    (
      await account.client.request<{ me: { notifications: { edges: { node: Pushed["myNotifications"] }[] } } }>(
        `{ me { notifications(first: 50) { edges { node { id channel template body status } } } } }`,
      )
    ).me.notifications.edges.map((edge) => edge.node);

  it("pushes each in-app notification to its owner as it is written, on every gateway replica, and to nobody else", async () => {
    const replica = await startReplica();
    const alice = await signUp(platform.gatewayUrl);
    const bob = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 300, stock: 5 });
    const here = watch<Pushed>(wsClient(alice.token).client, MINE);
    const there = watch<Pushed>(wsClient(alice.token, {}, replica.url.replace(/^http/, "ws")).client, MINE);
    const forBob = watch<Pushed>(wsClient(bob.token).client, MINE);
    await until(() => [here, there, forBob].every((seen) => seen.errors.length === 0), "the subscriptions");
    await eventually(async () => (await subscriptionCount()) >= 2, "the subscriptions to start");
    await new Promise((resolve) => setTimeout(resolve, 300));

    const placed = await placeOrder(alice, [{ productId, quantity: 1 }]);
    await waitForStatus(alice, placed.id, ["CONFIRMED"]);
    const confirmed = (seen: Seen<Pushed>) => seen.events.filter((event) => event.myNotifications.template === "order_confirmed");
    await until(() => confirmed(here).length === 1 && confirmed(there).length === 1, "the confirmation on both replicas");

    const alices = await stored(alice);
    const inApp = alices.filter((n) => n.channel === "IN_APP" && n.template === "order_confirmed");
    expect(inApp).toHaveLength(1);
    expect(confirmed(here)[0]!.myNotifications).toEqual(inApp[0]);
    expect(confirmed(there)[0]!.myNotifications).toEqual(inApp[0]);
    // Only in-app ones, each once, and all of them the owner's.
    for (const seen of [here, there]) {
      expect(seen.events.every((event) => event.myNotifications.channel === "IN_APP")).toBe(true);
      const ids = seen.events.map((event) => event.myNotifications.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => alices.some((n) => n.id === id))).toBe(true);
    }
    expect(forBob.events.some((event) => alices.some((n) => n.id === event.myNotifications.id))).toBe(false);
    expect(forBob.errors).toEqual([]);
  });
});
