/**
 * The subscription server against real Redis: the order feed reads what is
 * XADDed to the order stream; `order(id)` runs against a small in-memory
 * schema instead of the supergraph (what is under test is the server, not
 * federation: the e2e tests cover that).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { buildSchema, graphql } from "graphql";
import { createClient, type Client } from "graphql-ws";
import Redis from "ioredis";
import pino from "pino";
import WebSocket from "ws";
import { publishRole, signAccessToken, withCurrentRole, type Identity } from "@commerce/kit";
import { startTestRedisCluster, type RedisClusterServer } from "@commerce/testing";
import { createEvent, createRedis, streamKey, type RedisClient } from "@commerce/streams";
import { loadGatewayConfig } from "../config";
import { NotificationFeed, OrderEventFeed } from "./order-events";
import { attachSubscriptions, type RunQuery } from "./server";

const schema = buildSchema(`
  type Query { order(id: ID!): Order }
  type Subscription { orderStatusChanged(orderId: ID!): Order! myOrderUpdates: Order! myNotifications: Notification! }
  enum Channel { EMAIL IN_APP SMS }
  type Notification { id: ID! channel: Channel! template: String! subject: String body: String! status: String! createdAt: String! sentAt: String }
  type Order { id: ID! status: String! statusHistory: [Change!]! failureReason: String blob: String viewer: String }
  type Change { status: String! at: String! }
`);

interface OrderState {
  id: string;
  status: string;
  statusHistory: { status: string; at: string }[];
  failureReason?: string | null;
  blob?: string;
}

const prefix = `t_subs_${randomUUID().slice(0, 8)}`;
const config = loadGatewayConfig({
  NODE_ENV: "test",
  REDIS_URL: process.env.TEST_REDIS_URL,
  STREAM_PREFIX: prefix,
  MAX_SUBSCRIPTIONS_PER_CONNECTION: "10",
});
const orders = new Map<string, OrderState>();
let blob = "";
let httpServer: Server;
let redis: Redis;
let feed: OrderEventFeed;
let notifications: NotificationFeed;
let subscriptions: ReturnType<typeof attachSubscriptions>;
let url: string;
const clients: Client[] = [];
/** The rules of the QUERY_TOO_COMPLEX refusals the server reported (the gateway counts them in gateway_refusals_total). */
const tooComplexRules: string[] = [];
/** Every query the server ran, with the identity it ran as. */
const runs: { identity: Identity | null; variables: Record<string, unknown> }[] = [];
/** Runs inside the next query's execution, as a change made while the subgraphs answer. */
let duringRun: ((identity: Identity | null) => Promise<void>) | null = null;

const token = (role: "CUSTOMER" | "STAFF" | "ADMIN", userId = randomUUID(), ttlSeconds = 600) =>
  signAccessToken(
    { sub: userId, role, email: `${userId}@example.com` },
    { keys: config.jwt.keys, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds },
  ).token;

beforeAll(async () => {
  redis = new Redis(config.redisUrl);
  httpServer = createServer();
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
  feed = new OrderEventFeed(new Redis(config.redisUrl, { maxRetriesPerRequest: null }), prefix, pino({ level: "silent" }));
  await feed.start();
  notifications = new NotificationFeed(new Redis(config.redisUrl, { maxRetriesPerRequest: null }), prefix, pino({ level: "silent" }));
  await notifications.start();
  subscriptions = attachSubscriptions({
    notifications,
    httpServer,
    config,
    logger: pino({ level: "silent" }),
    feed,
    schema: () => schema,
    isOriginAllowed: () => true,
    onTooComplex: (rule) => void tooComplexRules.push(rule),
    currentRole: async (identity) => (await withCurrentRole(redis, prefix, identity, pino({ level: "silent" }))) ?? identity,
    run: runOrderQuery,
  });
});

/** The order subgraph of these tests: `order(id)` from `orders`. */
const runOrderQuery: RunQuery = async (query, variables, identity) => {
  runs.push({ identity, variables });
  const during = duringRun;
  duringRun = null;
  await during?.(identity);
  // `viewer` stands for a per-user field (`user { email }`): whom the answer was resolved for.
  const viewer = identity?.kind === "user" ? `${identity.userId}:${identity.role}` : null;
  return (await graphql({
    schema,
    source: query,
    variableValues: variables,
    // Ids in lower case, as the subgraph kit hands UUID arguments to resolvers (kit/src/schema.ts).
    rootValue: { order: ({ id }: { id: string }) => (orders.has(id.toLowerCase()) ? { ...orders.get(id.toLowerCase()), blob, viewer } : null) },
  })) as never;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});
afterAll(async () => {
  await subscriptions.dispose();
  await Promise.all([feed.stop(), notifications.stop()]);
  redis.disconnect();
  await new Promise((resolve) => httpServer.close(resolve));
});

/** Records a status change in the "order service" and publishes it as the relay would. */
async function change(order: OrderState, status: string, at: Date, options: { publishOnly?: boolean; ownerId?: string; on?: RedisClient } = {}) {
  if (!options.publishOnly) {
    order.status = status;
    order.statusHistory.push({ status, at: at.toISOString() });
  }
  const event = createEvent(
    "order.status_changed",
    { orderId: order.id, userId: options.ownerId ?? randomUUID(), status: status as never, previousStatus: null, reason: null, at: at.toISOString() },
    { correlationId: order.id },
  );
  await (options.on ?? redis).xadd(streamKey(prefix, "order"), "*", "id", event.id, "type", event.type, "envelope", JSON.stringify(event));
  return event;
}

function newOrder(): OrderState {
  const order = { id: randomUUID(), status: "PENDING", statusHistory: [{ status: "PENDING", at: new Date(Date.now() - 1000).toISOString() }] };
  orders.set(order.id, order);
  return order;
}

function client(bearer: string, closeCodes: number[] = [], at = url) {
  const created = createClient({
    url: at,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${bearer}` },
    retryAttempts: 0,
    on: { closed: (e) => void closeCodes.push((e as { code: number }).code) },
  });
  clients.push(created);
  return created;
}

function watch(subscriber: Client, orderId: string) {
  const seen = { statuses: [] as string[], errors: [] as unknown[], completed: false, stop: () => undefined as void };
  seen.stop = subscriber.subscribe<{ orderStatusChanged: { status: string } }>(
    { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status } }`, variables: { id: orderId } },
    {
      next: (r) => void (r.data && seen.statuses.push(r.data.orderStatusChanged.status)),
      error: (e) => void seen.errors.push(e),
      complete: () => void (seen.completed = true),
    },
  );
  return seen;
}

async function until(probe: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it("sends the current state, then each change once and in order, and completes after a terminal status", async () => {
  const order = newOrder();
  const seen = watch(client(token("STAFF")), order.id);
  await until(() => seen.statuses.length === 1, "the initial state");
  const t = Date.now();
  const reserved = await change(order, "STOCK_RESERVED", new Date(t));
  await redis.xadd(streamKey(prefix, "order"), "*", "id", reserved.id, "type", reserved.type, "envelope", JSON.stringify(reserved)); // relay redelivery
  await change(order, "PENDING", new Date(t - 5000), { publishOnly: true }); // a stale change
  await change(order, "CONFIRMED", new Date(t)); // same millisecond, other status
  await change(order, "CANCELLED", new Date(t + 10));
  await until(() => seen.completed, "completion");
  expect(seen.statuses).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED", "CANCELLED"]);
  await until(() => subscriptions.count() === 0, "the slot to be released");
});

it("shows each change's own history, even when the read already sees a later change", async () => {
  const order = newOrder();
  type Message = { status: string; failureReason: string | null; h: { status: string }[] };
  const messages: Message[] = [];
  let completed = false;
  client(token("STAFF")).subscribe<{ orderStatusChanged: Message }>(
    {
      query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status failureReason h: statusHistory { status } } }`,
      variables: { id: order.id },
    },
    { next: (r) => void (r.data && messages.push(r.data.orderStatusChanged)), error: () => undefined, complete: () => void (completed = true) },
  );
  await until(() => messages.length === 1, "the initial state");
  // Both changes are written before the first is delivered: its message is read after the second.
  const t = Date.now();
  order.status = "PAYMENT_FAILED";
  order.failureReason = "insufficient funds";
  order.statusHistory.push(
    { status: "STOCK_RESERVED", at: new Date(t).toISOString() },
    { status: "PAYMENT_FAILED", at: new Date(t + 1).toISOString() },
  );
  await change(order, "STOCK_RESERVED", new Date(t), { publishOnly: true });
  await change(order, "PAYMENT_FAILED", new Date(t + 1), { publishOnly: true });
  await until(() => completed, "completion");
  expect(messages).toEqual([
    { status: "PENDING", failureReason: null, h: [{ status: "PENDING" }] },
    { status: "STOCK_RESERVED", failureReason: null, h: [{ status: "PENDING" }, { status: "STOCK_RESERVED" }] },
    {
      status: "PAYMENT_FAILED",
      failureReason: "insufficient funds",
      h: [{ status: "PENDING" }, { status: "STOCK_RESERVED" }, { status: "PAYMENT_FAILED" }],
    },
  ]);
});

it("sends a change the first read already had in its history but not in its status", async () => {
  // An order subgraph reading the row and then its history can see the next change in the second read only.
  const order = newOrder();
  const at = new Date();
  order.statusHistory.push({ status: "STOCK_RESERVED", at: at.toISOString() });
  type Message = { status: string; h: { status: string }[] };
  const messages: Message[] = [];
  client(token("STAFF")).subscribe<{ orderStatusChanged: Message }>(
    { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status h: statusHistory { status } } }`, variables: { id: order.id } },
    { next: (r) => void (r.data && messages.push(r.data.orderStatusChanged)), error: () => undefined, complete: () => undefined },
  );
  await until(() => messages.length === 1, "the initial state");
  order.status = "STOCK_RESERVED";
  await change(order, "STOCK_RESERVED", at, { publishOnly: true });
  await until(() => messages.length === 2, "the change the first read half saw");
  expect(messages).toEqual([
    { status: "PENDING", h: [{ status: "PENDING" }] },
    { status: "STOCK_RESERVED", h: [{ status: "PENDING" }, { status: "STOCK_RESERVED" }] },
  ]);
});

it("follows an order named by its id in upper case", async () => {
  const order = newOrder();
  const seen = watch(client(token("STAFF")), order.id.toUpperCase());
  await until(() => seen.statuses.length === 1, "the initial state");
  await change(order, "STOCK_RESERVED", new Date());
  await until(() => seen.statuses.length === 2, "the change");
  expect(seen.statuses).toEqual(["PENDING", "STOCK_RESERVED"]);
});

it("releases the slot at once when the client completes while nothing happens", async () => {
  const order = newOrder();
  const seen = watch(client(token("STAFF")), order.id);
  await until(() => seen.statuses.length === 1 && subscriptions.count() === 1, "the subscription");
  seen.stop();
  await until(() => subscriptions.count() === 0, "the slot to be released");
});

it("closes a client that stops reading (1013) instead of buffering for it", async () => {
  blob = "x".repeat(256 * 1024);
  try {
    const socket = new WebSocket(url, "graphql-transport-ws");
    let closed = false;
    socket.on("close", () => void (closed = true));
    await new Promise((resolve) => socket.once("open", resolve));
    const acked = new Promise((resolve) => socket.once("message", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token("STAFF")}` } }));
    await acked;
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { myOrderUpdates { status blob } }" } }));
    await until(() => subscriptions.count() === 1, "the subscription");
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 0; i < 150 && subscriptions.count() > 0; i++) await change(newOrder(), "STOCK_RESERVED", new Date());
    await until(() => subscriptions.count() === 0 && subscriptions.connectionCount() === 0, "the slow subscriber to be dropped");
    // Reading again, the client finds its connection gone.
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => closed, "the client to see the close");
  } finally {
    blob = "";
  }
});

it("refuses subscriptions beyond the per-connection limit and keeps the connection", async () => {
  const order = newOrder();
  const codes: number[] = [];
  const subscriber = client(token("STAFF"), codes);
  const all = Array.from({ length: 11 }, () => watch(subscriber, order.id));
  await until(() => all.every((s) => s.statuses.length + s.errors.length > 0), "every answer");
  expect(all.filter((s) => s.errors.length).map((s) => (s.errors[0] as { extensions: { code: string } }[])[0].extensions.code)).toEqual([
    "RATE_LIMITED",
  ]);
  expect(codes).toEqual([]);
});

it("closes every socket with 1012 after a schema update, which clients retry", async () => {
  const codes: number[] = [];
  const seen = watch(client(token("CUSTOMER"), codes), newOrder().id);
  await until(() => seen.statuses.length + seen.errors.length === 1, "the first answer");
  subscriptions.closeAll(1012, "Schema updated; resubscribe");
  await until(() => codes.length === 1, "the close");
  expect(codes).toEqual([1012]);
});

it("closes a socket when its access token expires (4403); the client reconnects with a fresh token and resumes", async () => {
  const order = newOrder();
  const userId = randomUUID();
  const codes: number[] = [];
  const bearers = [token("STAFF", userId, 2), token("STAFF", userId)];
  let connects = 0;
  const subscriber = createClient({
    url,
    webSocketImpl: WebSocket,
    // Called on every (re)connect: where a real client reads its refreshed token.
    connectionParams: () => ({ Authorization: `Bearer ${bearers[Math.min(connects++, 1)]}` }),
    retryAttempts: 1,
    retryWait: async () => undefined,
    on: { closed: (e) => void codes.push((e as { code: number }).code) },
  });
  clients.push(subscriber);
  const seen = watch(subscriber, order.id);
  await until(() => seen.statuses.length === 1, "the initial state");
  await until(() => codes.length === 1, "the close at expiry", 5_000);
  expect(codes).toEqual([4403]);
  // graphql-ws subscribes again on the new socket: the current state first, then changes.
  await until(() => seen.statuses.length === 2, "the state on the new socket");
  expect(connects).toBe(2);
  await change(order, "STOCK_RESERVED", new Date());
  await until(() => seen.statuses.length === 3, "a change on the new socket");
  expect(seen.statuses).toEqual(["PENDING", "PENDING", "STOCK_RESERVED"]);
  expect(seen.errors).toEqual([]);
});

it("closes a connection_init whose token is expired or invalid with 4403, so the client refreshes it", async () => {
  const expired = signAccessToken(
    { sub: randomUUID(), role: "CUSTOMER", email: "late@example.com" },
    { keys: config.jwt.keys, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: 60, now: Date.now() - 3_600_000 },
  ).token;
  for (const bearer of [expired, "not-a-token", `${token("CUSTOMER")}x`]) {
    const codes: number[] = [];
    const seen = watch(client(bearer, codes), newOrder().id);
    await until(() => codes.length === 1, "the close");
    expect(codes).toEqual([4403]);
    expect(seen.statuses).toEqual([]);
  }
  expect(subscriptions.connectionCount()).toBe(0);
});

describe("connection caps", () => {
  let capped: ReturnType<typeof attachSubscriptions>;
  let cappedServer: Server;
  let cappedUrl: string;
  const refusals: string[] = [];
  /** The test's "client address", as a trusted proxy would report it. */
  let address = "203.0.113.1";

  beforeAll(async () => {
    cappedServer = createServer();
    await new Promise<void>((resolve) => cappedServer.listen(0, "127.0.0.1", resolve));
    cappedUrl = `ws://127.0.0.1:${(cappedServer.address() as AddressInfo).port}/graphql`;
    capped = attachSubscriptions({
      httpServer: cappedServer,
      config: { ...config, maxConnectionsPerIp: 3, maxConnectionsPerUser: 2 },
      logger: pino({ level: "silent" }),
      feed,
      notifications,
      schema: () => schema,
      isOriginAllowed: () => true,
      clientAddress: () => address,
      onTooManyConnections: (rule) => void refusals.push(rule),
      currentRole: async (identity) => identity,
      run: async () => ({ data: { order: null } }) as never,
    });
  });
  afterAll(async () => {
    await capped.dispose();
    await new Promise((resolve) => cappedServer.close(resolve));
  });

  /** Opens a socket and sends connection_init; resolves with how it ended up: acknowledged, or closed (code) or refused (HTTP status). */
  function connect(bearer: string): Promise<{ socket: WebSocket; outcome: string }> {
    return new Promise((resolve) => {
      const socket = new WebSocket(cappedUrl, "graphql-transport-ws");
      socket.on("unexpected-response", (_request, response) => resolve({ socket, outcome: `http ${response.statusCode}` }));
      socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${bearer}` } })));
      socket.on("message", (data) => {
        if (JSON.parse(String(data)).type === "connection_ack") resolve({ socket, outcome: "ack" });
      });
      socket.on("close", (code) => resolve({ socket, outcome: `closed ${code}` }));
    });
  }

  it("caps the sockets of one user (1013, retried later) and of one address (HTTP 429), and frees a slot on close", async () => {
    const ann = randomUUID();
    const first = await connect(token("CUSTOMER", ann));
    const second = await connect(token("CUSTOMER", ann));
    expect([first.outcome, second.outcome]).toEqual(["ack", "ack"]);
    expect((await connect(token("CUSTOMER", ann))).outcome).toBe("closed 1013");
    // Another user behind the same address still connects, up to the address's cap of 3.
    const bob = await connect(token("CUSTOMER"));
    expect(bob.outcome).toBe("ack");
    expect((await connect(token("CUSTOMER"))).outcome).toBe("http 429");
    // Another address is not affected.
    address = "203.0.113.2";
    const elsewhere = await connect(token("CUSTOMER"));
    expect(elsewhere.outcome).toBe("ack");
    address = "203.0.113.1";

    // Closing one of Ann's sockets gives both the user and the address a slot back.
    first.socket.close();
    await until(() => capped.connectionCount() === 3, "the close to be seen");
    const again = await connect(token("CUSTOMER", ann));
    expect(again.outcome).toBe("ack");
    expect(refusals).toEqual(["user", "ip"]);
    for (const open of [second, bob, elsewhere, again]) open.socket.close();
  });
});

it("answers a subscription that does not parse or validate with the same codes as HTTP", async () => {
  const subscriber = client(token("STAFF"));
  const answers: unknown[] = [];
  const queries = [
    "subscription { myOrderUpdates { status ",
    "subscription { myOrderUpdates { nope } }",
    "subscription { orderStatusChanged(orderId: 5.5) { status } }", // a wrong literal: bad input, as over HTTP
  ];
  for (const query of queries) {
    await new Promise<void>((resolve) =>
      subscriber.subscribe({ query }, { next: () => undefined, error: (e) => void (answers.push(e), resolve()), complete: () => resolve() }),
    );
  }
  const extensions = answers.map((errors) => (errors as { extensions?: { code?: string; field?: string } }[])[0]?.extensions);
  expect(extensions).toEqual([{ code: "GRAPHQL_PARSE_FAILED" }, { code: "GRAPHQL_VALIDATION_FAILED" }, { code: "BAD_USER_INPUT", field: "orderId" }]);
});

it("holds a subscription to the size, depth, cost and alias limits of an HTTP operation", async () => {
  const subscriber = client(token("STAFF"));
  const queries = [
    `subscription { myOrderUpdates { ${Array.from({ length: 31 }, (_, i) => `a${i}: status`).join(" ")} } }`, // MAX_ALIASES 30
    `subscription { myOrderUpdates { ${"id ".repeat(5_000)} } }`, // MAX_QUERY_TOKENS 5000
  ];
  const answers: { message: string; extensions?: { code?: string } }[] = [];
  tooComplexRules.length = 0;
  for (const query of queries) {
    await new Promise<void>((resolve) =>
      subscriber.subscribe(
        { query },
        { next: () => undefined, error: (e) => void (answers.push((e as typeof answers)[0]!), resolve()), complete: () => resolve() },
      ),
    );
  }
  expect(answers.map((answer) => answer.extensions?.code)).toEqual(["QUERY_TOO_COMPLEX", "QUERY_TOO_COMPLEX"]);
  expect(answers[0]!.message).toMatch(/31 aliases; at most 30/);
  expect(answers[1]!.message).toMatch(/more than 5000 tokens/);
  expect(tooComplexRules).toEqual(["aliases", "tokens"]);
});

describe("myNotifications", () => {
  /** Writes an in-app notification's event as the notification service's relay publishes it. */
  async function written(userId: string, body: string) {
    const at = new Date().toISOString();
    const event = createEvent(
      "notification.created",
      {
        notificationId: randomUUID(),
        userId,
        orderId: null,
        channel: "IN_APP",
        template: "order_shipped",
        subject: null,
        body,
        status: "SENT",
        createdAt: at,
        sentAt: at,
      },
      { correlationId: userId },
    );
    await redis.xadd(streamKey(prefix, "notification"), "*", "id", event.id, "type", event.type, "envelope", JSON.stringify(event));
    return event;
  }

  it("pushes each of the caller's own in-app notifications once, in the shape selected, and nobody else's", async () => {
    const me = randomUUID();
    const received: unknown[] = [];
    client(token("CUSTOMER", me)).subscribe(
      { query: `subscription Mine { mine: myNotifications { id channel body sentAt } }` },
      { next: (r) => void received.push(r.data), error: () => undefined, complete: () => undefined },
    );
    const staffSaw: unknown[] = [];
    client(token("STAFF")).subscribe(
      { query: `subscription { myNotifications { body } }` },
      { next: (r) => void staffSaw.push(r.data), error: () => undefined, complete: () => undefined },
    );
    await until(() => subscriptions.count() === 2, "both subscriptions");

    const first = await written(me, "Your order shipped");
    await redis.xadd(streamKey(prefix, "notification"), "*", "id", first.id, "type", first.type, "envelope", JSON.stringify(first)); // relay redelivery
    await written(randomUUID(), "someone else's");
    const second = await written(me, "Your order arrived");
    await until(() => received.length === 2, "two notifications");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([
      { mine: { id: first.payload.notificationId, channel: "IN_APP", body: "Your order shipped", sentAt: first.payload.sentAt } },
      { mine: { id: second.payload.notificationId, channel: "IN_APP", body: "Your order arrived", sentAt: second.payload.sentAt } },
    ]);
    expect(staffSaw).toEqual([]);
  });

  it("is refused to anonymous callers", async () => {
    const anonymous = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(anonymous);
    const errors: unknown[] = [];
    anonymous.subscribe(
      { query: `subscription { myNotifications { id } }` },
      { next: () => undefined, error: (e) => void errors.push(e), complete: () => undefined },
    );
    await until(() => errors.length === 1, "the refusal");
    expect((errors[0] as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("fan-out: one execution per change, selection and authorization scope", () => {
  type Message = { status: string; viewer: string | null };
  const VIEWER = `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status viewer } }`;

  function watchViewer(subscriber: Client, orderId: string, query = VIEWER) {
    const seen = { messages: [] as Message[], errors: [] as unknown[] };
    subscriber.subscribe<{ orderStatusChanged: Message }>(
      { query, variables: { id: orderId } },
      {
        next: (r) => void (r.data && seen.messages.push(r.data.orderStatusChanged)),
        error: (e) => void seen.errors.push(e),
        complete: () => undefined,
      },
    );
    return seen;
  }

  const runsOf = (orderId: string) => runs.filter((run) => run.variables.id === orderId);

  it("resolves a change once for all non-owner STAFF members and once for the owner, each seeing only their scope's answer", async () => {
    const order = newOrder();
    const ownerId = randomUUID();
    const staff = [randomUUID(), randomUUID(), randomUUID()];
    const owner = [watchViewer(client(token("CUSTOMER", ownerId)), order.id), watchViewer(client(token("CUSTOMER", ownerId)), order.id)];
    const members = staff.map((id) => watchViewer(client(token("STAFF", id)), order.id));
    const all = [...owner, ...members];
    await until(() => all.every((s) => s.messages.length === 1), "every initial state");
    const before = runsOf(order.id).length;

    await change(order, "STOCK_RESERVED", new Date(), { ownerId });
    await until(() => all.every((s) => s.messages.length === 2), "the change everywhere");

    // Two scopes (the owner; STAFF), one selection: two executions for five subscribers.
    const executed = runsOf(order.id).slice(before);
    expect(executed).toHaveLength(2);
    for (const seen of owner) expect(seen.messages[1]).toEqual({ status: "STOCK_RESERVED", viewer: `${ownerId}:CUSTOMER` });
    const staffViewer = members[0].messages[1].viewer;
    expect(staff.map((id) => `${id}:STAFF`)).toContain(staffViewer);
    for (const seen of members) expect(seen.messages[1]).toEqual({ status: "STOCK_RESERVED", viewer: staffViewer });
    expect(all.every((s) => s.errors.length === 0)).toBe(true);
  });

  it("never shares across roles, selections, or with a STAFF member who owns the order", async () => {
    const order = newOrder();
    const ownerId = randomUUID();
    const staffOwner = watchViewer(client(token("STAFF", ownerId)), order.id);
    const admin = watchViewer(client(token("ADMIN")), order.id);
    const staff = watchViewer(client(token("STAFF")), order.id);
    const otherSelection = watchViewer(
      client(token("STAFF")),
      order.id,
      `subscription($id: ID!) { orderStatusChanged(orderId: $id) { viewer status blob } }`,
    );
    const all = [staffOwner, admin, staff, otherSelection];
    await until(() => all.every((s) => s.messages.length === 1), "every initial state");
    const before = runsOf(order.id).length;

    await change(order, "CONFIRMED", new Date(), { ownerId });
    await until(() => all.every((s) => s.messages.length === 2), "the change everywhere");

    expect(runsOf(order.id).slice(before)).toHaveLength(4);
    expect(staffOwner.messages[1].viewer).toBe(`${ownerId}:STAFF`);
    expect(admin.messages[1].viewer).toMatch(/:ADMIN$/);
    expect(staff.messages[1].viewer).toMatch(/:STAFF$/);
    expect(staff.messages[1].viewer).not.toBe(`${ownerId}:STAFF`);
  });

  it("resolves a change alone for a STAFF member whose role was taken away since their token", async () => {
    const order = newOrder();
    const ownerId = randomUUID();
    const demotedId = randomUUID();
    const staffId = randomUUID();
    const demoted = watchViewer(client(token("STAFF", demotedId)), order.id);
    const staff = watchViewer(client(token("STAFF", staffId)), order.id);
    await until(() => demoted.messages.length === 1 && staff.messages.length === 1, "both initial states");
    await publishRole(redis, prefix, demotedId, "CUSTOMER", 600);
    const before = runsOf(order.id).length;

    await change(order, "CONFIRMED", new Date(), { ownerId });
    await until(() => demoted.messages.length === 2 && staff.messages.length === 2, "the change for both");

    expect(runsOf(order.id).slice(before)).toHaveLength(2);
    expect(demoted.messages[1].viewer).toBe(`${demotedId}:STAFF`);
    expect(staff.messages[1].viewer).toBe(`${staffId}:STAFF`);
  });

  it("does not share an answer whose executor lost the role while the subgraphs answered", async () => {
    const order = newOrder();
    const ids = [randomUUID(), randomUUID()];
    const members = ids.map((id) => watchViewer(client(token("STAFF", id)), order.id));
    await until(() => members.every((s) => s.messages.length === 1), "both initial states");
    const before = runsOf(order.id).length;
    let executor: string | null = null;
    duringRun = async (identity) => {
      executor = identity?.kind === "user" ? identity.userId : null;
      await publishRole(redis, prefix, executor!, "CUSTOMER", 600);
    };

    await change(order, "CONFIRMED", new Date());
    await until(() => members.every((s) => s.messages.length === 2), "the change for both");

    // The shared attempt, then each member alone (the demoted executor's own answer is its own).
    expect(runsOf(order.id).slice(before)).toHaveLength(3);
    members.forEach((seen, i) => expect(seen.messages[1].viewer).toBe(`${ids[i]}:STAFF`));
    expect(ids).toContain(executor);
  });
});

describe("on a Redis Cluster", () => {
  let cluster: RedisClusterServer;
  let clusterRedis: RedisClient;
  let clusterFeed: OrderEventFeed;
  let server: Server;
  let served: ReturnType<typeof attachSubscriptions>;
  let clusterUrl: string;

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    clusterRedis = createRedis(cluster.url, { maxRetriesPerRequest: null });
    clusterFeed = new OrderEventFeed(createRedis(cluster.url, { maxRetriesPerRequest: null }), prefix, pino({ level: "silent" }));
    await clusterFeed.start();
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    clusterUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    served = attachSubscriptions({
      httpServer: server,
      config,
      logger: pino({ level: "silent" }),
      feed: clusterFeed,
      notifications,
      schema: () => schema,
      isOriginAllowed: () => true,
      currentRole: async (identity) => identity,
      run: runOrderQuery,
    });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((subscriber) => subscriber.dispose()));
    await served?.dispose();
    await clusterFeed?.stop();
    clusterRedis?.disconnect();
    await new Promise((resolve) => server?.close(resolve));
    await cluster?.stop();
  });

  const orderStreamMaster = () => cluster.masterOf(streamKey(prefix, "order"));

  it("sends each change of an order once, in order, across a fail-over of the order stream's master", async () => {
    const order = newOrder();
    const seen = watch(client(token("STAFF"), [], clusterUrl), order.id);
    await until(() => seen.statuses.length === 1, "the initial state");
    await change(order, "STOCK_RESERVED", new Date(), { on: clusterRedis });
    await until(() => seen.statuses.length === 2, "the change before the fail-over");

    const master = await orderStreamMaster();
    const failover = cluster.failover(master);
    // Written while the master changes hands (the writer follows MOVED as the relay does).
    await change(order, "CONFIRMED", new Date(), { on: clusterRedis });
    const promoted = await failover;
    expect(await orderStreamMaster()).toBe(promoted);
    await change(order, "SHIPPED", new Date(), { on: clusterRedis });
    await until(() => seen.statuses.length === 4, "the changes during and after the fail-over", 20_000);
    expect(seen.statuses).toEqual(["PENDING", "STOCK_RESERVED", "CONFIRMED", "SHIPPED"]);
    expect(seen.errors).toEqual([]);
  }, 60_000);

  it("reads on once a replica replaces a killed master of the order stream", async () => {
    const order = newOrder();
    const seen = watch(client(token("STAFF"), [], clusterUrl), order.id);
    await until(() => seen.statuses.length === 1, "the initial state");
    const master = await orderStreamMaster();
    cluster.kill(master);
    await cluster.waitHealthy(60_000);
    await change(order, "CONFIRMED", new Date(), { on: clusterRedis });
    await until(() => seen.statuses.length === 2, "the change after the master died", 20_000);
    expect(seen.statuses).toEqual(["PENDING", "CONFIRMED"]);
    expect(seen.errors).toEqual([]);
    await cluster.restart(master);
    await cluster.waitHealthy(60_000);
  }, 90_000);
});
