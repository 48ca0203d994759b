/**
 * The gateway as two node:cluster workers on one port (GATEWAY_WORKERS=2, gateway/src/cluster.ts), the
 * whole platform on a Redis Cluster: a sign-in made on one worker holds on the other, the rate limit
 * counts one caller's operations on both together, subscriptions held by either worker see every
 * change, through a fail-over of the order stream's master too, and `/metrics` answers for both.
 */
import http from "node:http";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { streamKey } from "@commerce/streams";
import { startTestRedisCluster, type Platform, type RedisClusterServer } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

const PER_USER = 12;
let redisCluster: RedisClusterServer;
let platform: Platform;
let admin: Account;
const workers: Pinned[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  redisCluster = await startTestRedisCluster();
  ({ platform, admin } = await startPlatformWithAdmin({
    redisUrl: redisCluster.url,
    serviceEnv: { gateway: { GATEWAY_WORKERS: "2", RATE_LIMIT_PER_MINUTE: String(PER_USER) } },
  }));
  workers.push(...(await pinEachWorker(2)));
}, 150_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  for (const worker of workers) worker.close();
  await platform?.stop();
  await redisCluster?.stop();
});

interface Health {
  worker: number;
  subscriptions: number;
}

/** An HTTP client held to one worker: a single kept-alive socket (pinged every second so it never idles out). */
interface Pinned {
  worker: number;
  health(): Promise<Health>;
  graphql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;
  close(): void;
}

function call(
  agent: http.Agent,
  method: "GET" | "POST",
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const url = new URL(platform.gatewayUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path, method, agent, headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * One pinned client per worker: new sockets until each worker has answered one (the primary deals sockets
 * round robin). Workers start independently, so the platform is healthy once the first listens: keep
 * trying until the others have started too.
 */
async function pinEachWorker(count: number): Promise<Pinned[]> {
  const found = new Map<number, Pinned>();
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; found.size < count && Date.now() < deadline; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const health = async () => (await call(agent, "GET", "/health")).json as Health;
    const { worker } = await health();
    expect(typeof worker).toBe("number");
    if (found.has(worker)) {
      agent.destroy();
      continue;
    }
    const ping = setInterval(() => void health().catch(() => undefined), 1_000);
    found.set(worker, {
      worker,
      health,
      graphql: async (query, variables = {}, token) => {
        const { status, json } = await call(
          agent,
          "POST",
          "/graphql",
          JSON.stringify({ query, variables }),
          token ? { authorization: `Bearer ${token}` } : {},
        );
        // Still the same socket, so still the same worker.
        expect((await health()).worker).toBe(worker);
        return { status, ...json };
      },
      close: () => {
        clearInterval(ping);
        agent.destroy();
      },
    });
  }
  expect(found.size).toBe(count);
  return [...found.values()];
}

test("a sign-in on one worker holds on the other, refreshes included", async () => {
  const [a, b] = workers as [Pinned, Pinned];
  const customer = await signUp(platform.gatewayUrl);
  const signedIn = await a.graphql<{ login: { accessToken: string; refreshToken: string } }>(
    `mutation($e: String!) { login(email: $e, password: "e2e-password-123") { accessToken refreshToken } }`,
    { e: customer.email },
  );
  expect(signedIn.errors).toBeUndefined();
  const { accessToken, refreshToken } = signedIn.data!.login;

  expect((await b.graphql<{ me: { email: string } }>(`{ me { email } }`, {}, accessToken)).data!.me.email).toBe(customer.email);
  const refreshed = await b.graphql<{ refreshToken: { accessToken: string; refreshToken: string } }>(
    `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`,
    { t: refreshToken },
  );
  expect(refreshed.errors).toBeUndefined();
  expect((await a.graphql<{ me: { email: string } }>(`{ me { email } }`, {}, refreshed.data!.refreshToken.accessToken)).data!.me.email).toBe(
    customer.email,
  );
  // The spent refresh token is spent everywhere (past the reuse grace it would revoke the family).
  const rotatedAgain = await a.graphql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, {
    t: refreshed.data!.refreshToken.refreshToken,
  });
  expect(rotatedAgain.errors).toBeUndefined();
});

test("the rate limit counts a caller's operations on both workers together", async () => {
  const [a, b] = workers as [Pinned, Pinned];
  const customer = await signUp(platform.gatewayUrl);
  for (let i = 0; i < PER_USER; i++) {
    const answer = await (i % 2 ? b : a).graphql(`{ me { email } }`, {}, customer.token);
    expect(answer.errors).toBeUndefined();
  }
  for (const worker of [a, b]) {
    const refused = await worker.graphql(`{ me { email } }`, {}, customer.token);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
  }
});

test("subscriptions held by either worker see every status change across a fail-over, and /metrics counts both", async () => {
  const customer = await signUp(platform.gatewayUrl);
  const productId = await createProduct(admin, { price: 250, stock: 3, name: "Cluster mug" });
  const order = await placeOrder(customer, [{ productId, quantity: 1 }]);

  // New sockets until each worker holds one subscription (each WebSocket stays on the worker that accepted it).
  const statuses: string[][] = [];
  const held = async () => Promise.all(workers.map(async (worker) => (await worker.health()).subscriptions));
  for (let socket = 0; socket < 10 && (await held()).some((count) => count === 0); socket++) {
    const before = await held();
    const client = createClient({
      url: platform.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${customer.token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const seen: string[] = [];
    statuses.push(seen);
    client.subscribe<{ orderStatusChanged: { status: string } }>(
      { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status } }`, variables: { id: order.id } },
      { next: (result) => void (result.data && seen.push(result.data.orderStatusChanged.status)), error: () => undefined, complete: () => undefined },
    );
    await eventually("the subscription to be held by a worker", async () => (await held()).some((count, i) => count > before[i]!), 10_000);
  }
  expect(await held()).toEqual([expect.any(Number), expect.any(Number)]);
  expect((await held()).every((count) => count >= 1)).toBe(true);

  await eventually("every subscriber to see CONFIRMED", async () => statuses.every((seen) => seen.includes("CONFIRMED")));
  const metrics = await (await fetch(platform.gatewayUrl.replace(/\/graphql$/, "/metrics"))).text();
  expect(metrics.split("\n").filter((line) => line.startsWith("graphql_subscriptions"))).toEqual([
    `graphql_subscriptions{service="gateway"} ${statuses.length}`,
  ]);

  // The feeds of both workers follow the order stream to its new master.
  await redisCluster.failover(await redisCluster.masterOf(streamKey(platform.streamPrefix, "order")));
  for (const mutation of ["shipOrder", "completeOrder"])
    await admin.client.request(`mutation($id: ID!) { ${mutation}(id: $id) { id } }`, { id: order.id });
  await eventually("every subscriber to see COMPLETED", async () => statuses.every((seen) => seen.at(-1) === "COMPLETED"));
  for (const seen of statuses) {
    // Once each and in order, on whichever worker the subscriber sits.
    expect(seen.slice(seen.indexOf("CONFIRMED"))).toEqual(["CONFIRMED", "SHIPPED", "COMPLETED"]);
    expect(new Set(seen).size).toBe(seen.length);
  }
});
