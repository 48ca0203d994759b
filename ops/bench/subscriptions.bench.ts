/**
 * Live order status benchmark: many graphql-ws subscribers on one gateway while orders change.
 * `npm run bench -- subscriptions`; what it does and its BENCH_* knobs: docs/BENCHMARKS.md, "How each bench runs".
 */
import { createClient, type Client } from "graphql-ws";
import pLimit from "p-limit";
import WebSocket from "ws";
import { ADMIN, createProduct, login, placeOrder, signUp, type Account } from "../provision";
import { startBenchPlatform, type BenchPlatform } from "./lib/platform";
import { runBench } from "./lib/run";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 5_000);
const PER_SOCKET = Number(process.env.BENCH_PER_SOCKET ?? 50);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 300);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const EXPECTED_PER_SUBSCRIPTION = 3;

const SUBSCRIPTION = `subscription($id: ID!) {
  orderStatusChanged(orderId: $id) {
    id status
    user { email }
    items { quantity product { name } }
    payment { status }
    statusHistory { status at }
  }
}`;

interface Event {
  orderStatusChanged: { id: string; status: string; statusHistory: { status: string; at: string }[] };
}

interface Watcher {
  received: number;
  statuses: string[];
  completed: boolean;
  errors: unknown[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<unknown>): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(items.map((item) => limit(() => task(item))));
}

async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  console.log(`  (gave up waiting for ${what} after ${timeoutMs} ms)`);
  return false;
}

async function gatewayRss(platform: BenchPlatform): Promise<number> {
  const text = await (await fetch(platform.gatewayUrl.replace(/\/graphql$/, "/metrics"))).text();
  return Number(/^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
}

const countBy = (values: string[]) =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  console.log("starting Postgres, Redis, the SMTP sink and the platform…");
  const platform = await startBenchPlatform({
    durable: false,
    // The bench drives everything from one IP: lift the HTTP rate limits, keep the subscription limits.
    env: {
      RATE_LIMIT_PER_MINUTE: "1000000",
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "1000000",
      MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_SOCKET),
      MAX_SUBSCRIPTIONS: String(Math.max(20_000, SUBSCRIBERS)),
    },
  });
  const wsUrl = platform.gatewayUrl.replace(/^http/, "ws");
  const clients: Client[] = [];
  try {
    const admin = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
    const customers: Account[] = [];
    for (let i = 0; i < CUSTOMERS; i++) customers.push(await signUp(platform.gatewayUrl));
    const productId = await createProduct(admin, { price: 100, stock: ORDERS * 2, name: "Bench Widget" });

    console.log(`placing ${ORDERS} orders…`);
    const orders: { id: string; owner: Account }[] = [];
    await pool(
      Array.from({ length: ORDERS }, (_, i) => customers[i % CUSTOMERS]),
      CONCURRENCY,
      async (owner) => {
        orders.push({ id: (await placeOrder(owner, [{ productId, quantity: 1 }])).id, owner });
      },
    );
    await until(
      async () => {
        const { orders: page } = await admin.client.request<{ orders: { totalCount: number } }>(
          `{ orders(filter: { status: CONFIRMED }, first: 1) { totalCount } }`,
        );
        return page.totalCount >= ORDERS;
      },
      "every order to be CONFIRMED",
      120_000,
    );

    const rssBefore = await gatewayRss(platform);
    // Each socket belongs to one customer and watches that customer's orders, round robin.
    const ordersOf = new Map<Account, string[]>();
    for (const order of orders) ordersOf.set(order.owner, [...(ordersOf.get(order.owner) ?? []), order.id]);
    const watchers: Watcher[] = [];
    const latencies: number[] = [];
    const closeCodes: number[] = [];
    const sockets = Math.ceil(SUBSCRIBERS / PER_SOCKET);
    console.log(`subscribing ${SUBSCRIBERS} subscribers on ${sockets} sockets to ${ORDERS} orders…`);
    const subscribeStarted = Date.now();
    for (let s = 0; s < sockets; s++) {
      const owner = customers[s % CUSTOMERS];
      const own = ordersOf.get(owner) ?? [];
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${owner.token}` },
        retryAttempts: 0,
        on: { closed: (event) => void closeCodes.push((event as { code: number }).code) },
      });
      clients.push(client);
      for (let k = 0; k < PER_SOCKET && watchers.length < SUBSCRIBERS; k++) {
        const watcher: Watcher = { received: 0, statuses: [], completed: false, errors: [] };
        watchers.push(watcher);
        client.subscribe<Event>(
          { query: SUBSCRIPTION, variables: { id: own[(s * PER_SOCKET + k) % own.length] } },
          {
            next: (result) => {
              const receivedAt = Date.now();
              if (result.errors) watcher.errors.push(result.errors);
              const order = result.data?.orderStatusChanged;
              if (!order) return;
              watcher.received += 1;
              watcher.statuses.push(order.status);
              // Latency of changes made during the run only (the initial state is as old as the order).
              const change = [...order.statusHistory].reverse().find((entry) => entry.status === order.status);
              if (change && order.status !== "CONFIRMED") latencies.push(receivedAt - Date.parse(change.at));
            },
            error: (error) => void watcher.errors.push(error),
            complete: () => void (watcher.completed = true),
          },
        );
      }
    }
    await until(() => watchers.every((w) => w.received >= 1 || w.errors.length > 0), "every initial state", 180_000);
    const subscribeMs = Date.now() - subscribeStarted;
    const rssSubscribed = await gatewayRss(platform);

    let rssPeak = rssSubscribed;
    const sampler = setInterval(
      () =>
        void gatewayRss(platform).then(
          (rss) => (rssPeak = Math.max(rssPeak, rss)),
          () => undefined,
        ),
      500,
    );
    console.log(`shipping and completing ${ORDERS} orders (${ORDERS * 2} status changes)…`);
    const driveStarted = Date.now();
    for (const mutation of ["shipOrder", "completeOrder"]) {
      await pool(orders, CONCURRENCY, (order) => admin.client.request(`mutation($id: ID!) { ${mutation}(id: $id) { status } }`, { id: order.id }));
    }
    const driveMs = Date.now() - driveStarted;
    await until(() => watchers.every((w) => w.completed || w.errors.length > 0), "every subscription to complete", 120_000);
    clearInterval(sampler);
    const rssAfter = await gatewayRss(platform);

    const expected = watchers.length * EXPECTED_PER_SUBSCRIPTION;
    const received = watchers.reduce((sum, w) => sum + w.received, 0);
    const duplicated = watchers.reduce((sum, w) => sum + (w.statuses.length - new Set(w.statuses).size), 0);
    const outOfOrder = watchers.filter((w) => w.statuses.join() !== ["CONFIRMED", "SHIPPED", "COMPLETED"].slice(0, w.statuses.length).join()).length;
    const sorted = latencies.sort((a, b) => a - b);
    console.log("\n== subscriptions benchmark ==");
    console.log(`subscribers ${watchers.length} on ${sockets} sockets, ${ORDERS} orders, ${CUSTOMERS} customers`);
    console.log(`subscribe + initial state for all: ${(subscribeMs / 1000).toFixed(1)} s`);
    console.log(
      `status changes driven: ${ORDERS * 2} in ${(driveMs / 1000).toFixed(1)} s (${((ORDERS * 2) / (driveMs / 1000)).toFixed(0)}/s, ${CONCURRENCY} in flight)`,
    );
    console.log(
      `latency commit → client (${sorted.length} deliveries): p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms`,
    );
    console.log(`gateway RSS: before ${mb(rssBefore)}, subscribed ${mb(rssSubscribed)}, peak ${mb(rssPeak)}, after ${mb(rssAfter)}`);
    console.log(
      `events: expected ${expected}, received ${received}, dropped ${expected - received}, duplicated ${duplicated}, out of order ${outOfOrder}`,
    );
    console.log(
      `completed ${watchers.filter((w) => w.completed).length}/${watchers.length}, with errors ${watchers.filter((w) => w.errors.length).length}`,
    );
    const firstError = watchers.find((w) => w.errors.length)?.errors[0];
    if (firstError) console.log(`first error: ${firstError instanceof Error ? firstError.message : JSON.stringify(firstError)}`);
    if (closeCodes.length) console.log(`sockets closed during the run, by code: ${JSON.stringify(countBy(closeCodes.map(String)))}`);
    const odd = watchers.filter((w) => w.statuses.join() !== ["CONFIRMED", "SHIPPED", "COMPLETED"].slice(0, w.statuses.length).join());
    if (odd.length) console.log(`unexpected sequences: ${JSON.stringify(countBy(odd.map((w) => w.statuses.join(">"))))}`);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await platform.stop();
  }
}

runBench(main);
