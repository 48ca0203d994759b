/**
 * Read throughput: the same queries through our gateway, a plain `@apollo/gateway` and straight to a subgraph.
 * `npm run bench -- reads`; what it does and its BENCH_* knobs: docs/BENCHMARKS.md, "How each bench runs".
 */
import autocannon from "autocannon";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { signIdentityHeaders } from "@commerce/kit";
import { ADMIN, createProduct, login, placeOrder, signUp, waitForStatus, type Account } from "../provision";
import { cpuDelta, treeCpuMs } from "./lib/cpu";
import { startBenchPlatform } from "./lib/platform";
import { runBench } from "./lib/run";
import { loadAverage, ms, table } from "./lib/stats";

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ONLY = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const ORDER_RATE = Number(process.env.BENCH_ORDER_RATE ?? 0);

const Q1 = `{ products(first: 10) { edges { node { id name price { amount currency } available } } } }`;
const Q2 = `{ orders(first: 10) { edges { node { id status total { amount } user { email } items { quantity product { name price { amount } } } } } } }`;
/** Q1 without stock: its cached answer is not limited to a second. */
const N = `{ products(first: 10) { edges { node { id name price { amount currency } } } } }`;
const P = `query($id: ID!) { product(id: $id) { id name description price { amount currency } available } }`;

type Target = "ours" | "plain" | "direct";

interface Cell {
  query: string;
  target: Target;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** hits / lookups of our gateway's catalog cache during the run (null: not ours, or no such metric) */
  hitRate: number | null;
  cpu: Record<string, number>;
}

async function main(): Promise<void> {
  console.log("starting the platform…");
  const platform = await startBenchPlatform({
    // One address sends everything: lift the HTTP rate limits (they are still checked on every request).
    env: {
      RATE_LIMIT_PER_MINUTE: "100000000",
      RATE_LIMIT_IP_PER_MINUTE: "100000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "warn",
      GATEWAY_WORKERS: process.env.BENCH_GATEWAY_WORKERS ?? "2",
    },
    log: (line) => console.log(`  ${line}`),
    profile: process.env.BENCH_PROFILE?.split(","),
  });
  try {
    const plainBase = await platform.startExtra("plain", path.join(__dirname, "lib", "plain-gateway.ts"));
    const urls: Record<Target, string> = { ours: platform.gatewayUrl, plain: `${plainBase}/graphql`, direct: platform.subgraphUrls.product };

    console.log("seeding: 30 products, a customer with 10 confirmed orders of 3 lines…");
    const admin = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
    const products: string[] = [];
    for (let i = 0; i < 30; i++)
      products.push(await createProduct(admin, { price: 100 + i, stock: 1_000, name: `Bench product ${String(i).padStart(2, "0")}` }));
    const customer = await signUp(platform.gatewayUrl);
    for (let i = 0; i < 10; i++) {
      const order = await placeOrder(
        customer,
        [0, 1, 2].map((k) => ({ productId: products[(i * 3 + k) % products.length]!, quantity: 1 })),
      );
      await waitForStatus(customer, order.id, ["CONFIRMED"]);
    }

    const all: { name: string; query: string; variables?: Record<string, unknown>; token?: string; targets: Target[] }[] = [
      { name: "Q1", query: Q1, targets: ["ours", "plain", "direct"] },
      { name: "N", query: N, targets: ["ours"] },
      { name: "Q2", query: Q2, token: customer.token, targets: ["ours", "plain"] },
      { name: "P", query: P, variables: { id: products[7] }, targets: ["ours", "plain", "direct"] },
    ];
    const queries = all.filter((q) => !ONLY || ONLY.includes(q.name));

    const secret = platform.env.INTERNAL_SECRET!;
    const cells: Cell[] = [];
    const metricsUrl = `${new URL(platform.gatewayUrl).origin}/metrics`;
    const buyers = ORDER_RATE > 0 ? await Promise.all(Array.from({ length: 5 }, () => signUp(platform.gatewayUrl))) : [];
    const flow = ORDER_RATE > 0 ? orderFlow(buyers, products, ORDER_RATE) : null;
    if (flow) console.log(`placing ${ORDER_RATE} orders/s in the background while reading…`);
    platform.toggleProfiles();
    for (const q of queries) {
      const body = JSON.stringify({ query: q.query, variables: q.variables ?? {} });
      for (const target of q.targets) {
        const headers = (): Record<string, string> => ({
          "content-type": "application/json",
          // Signed per request, for the product subgraph and this body: a subgraph answers each signature once.
          ...(target === "direct" ? signIdentityHeaders(null, secret, { audience: "product", body }, randomUUID()) : {}),
          ...(q.token && target !== "direct" ? { authorization: `Bearer ${q.token}` } : {}),
        });
        await checkAnswer(urls[target], headers(), body, `${q.name} via ${target}`);
        const fixed = headers();
        const fresh = () => (target === "direct" ? headers() : fixed);
        const run = (duration: number) =>
          autocannon({
            url: urls[target],
            connections: CONNECTIONS,
            duration,
            requests: [{ method: "POST", body, setupRequest: (request) => ({ ...request, headers: fresh() }) }],
          });
        await run(2);
        const cpuBefore = treeCpuMs(platform.pids());
        const lookupsBefore = target === "ours" ? await catalogLookups(metricsUrl) : null;
        const result = await run(DURATION);
        const cpu = cpuDelta(cpuBefore, treeCpuMs(platform.pids()));
        const lookupsAfter = target === "ours" ? await catalogLookups(metricsUrl) : null;
        const cell: Cell = {
          query: q.name,
          target,
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors + result.non2xx + result.timeouts,
          hitRate: hitRate(lookupsBefore, lookupsAfter),
          cpu: Object.fromEntries(Object.entries(cpu).map(([name, cpuMs]) => [name, cpuMs / Math.max(1, result.requests.total)])),
        };
        cells.push(cell);
        console.log(`  ${q.name} via ${target}: ${Math.round(cell.rps)} rps, p50 ${ms(cell.p50)} ms, p99 ${ms(cell.p99)} ms, ${cell.errors} errors`);
      }
    }

    platform.toggleProfiles();
    if (flow) {
      const { issued, failed } = await flow.stop();
      console.log(`background orders: ${issued} placed, ${failed} refused or failed`);
    }
    const find = (query: string, target: Target) => cells.find((c) => c.query === query && c.target === target);
    const cpuColumns = ["gateway", "plain", "product", "order", "user", "postgres", "redis"];
    console.log(`\n== reads benchmark (${CONNECTIONS} connections, ${DURATION} s per cell, ${ORDER_RATE} orders/s meanwhile) ==`);
    console.log(await loadAverage());
    console.log(
      table([
        ["query", "via", "rps", "p50 ms", "p99 ms", "errors", "cache hits", ...cpuColumns.map((name) => `${name} µs/req`)],
        ...cells.map((c) => [
          c.query,
          c.target,
          String(Math.round(c.rps)),
          ms(c.p50),
          ms(c.p99),
          String(c.errors),
          c.hitRate === null ? "-" : `${(c.hitRate * 100).toFixed(1)}%`,
          ...cpuColumns.map((name) => (c.cpu[name] ? String(Math.round(c.cpu[name]! * 1000)) : "-")),
        ]),
      ]),
    );
    const ratio = (a?: Cell, b?: Cell) => (a && b && b.rps > 0 ? (a.rps / b.rps).toFixed(2) : "-");
    console.log(
      "\n" +
        table([
          ["query", "ours / plain", "ours / direct", "plain / direct"],
          ...queries.map((q) => [
            q.name,
            ratio(find(q.name, "ours"), find(q.name, "plain")),
            ratio(find(q.name, "ours"), find(q.name, "direct")),
            ratio(find(q.name, "plain"), find(q.name, "direct")),
          ]),
        ]),
    );
    console.log(`(logs: ${platform.logDir})`);
  } finally {
    await platform.stop();
  }
}

/** `gateway_catalog_cache_lookups_total` of our gateway by result (null when it has no such metric). */
async function catalogLookups(url: string): Promise<{ hit: number; miss: number } | null> {
  const text = await (await fetch(url)).text();
  const count = (result: string) =>
    Number(new RegExp(`^gateway_catalog_cache_lookups_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  const [hit, miss] = [count("hit"), count("miss")];
  return Number.isNaN(hit) && Number.isNaN(miss) ? null : { hit: hit || 0, miss: miss || 0 };
}

function hitRate(before: { hit: number; miss: number } | null, after: { hit: number; miss: number } | null): number | null {
  if (!before || !after) return null;
  const hits = after.hit - before.hit;
  const lookups = hits + after.miss - before.miss;
  return lookups > 0 ? hits / lookups : null;
}

/** `rate` one-line orders a second (open loop) from `buyers`, round the products, until stopped: stock moves as in a live shop. */
function orderFlow(buyers: Account[], products: string[], rate: number): { stop(): Promise<{ issued: number; failed: number }> } {
  let issued = 0;
  let failed = 0;
  let running = true;
  const pending = new Set<Promise<unknown>>();
  const started = Date.now();
  const loop = (async () => {
    while (running) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      for (; issued < due; issued++) {
        const order = placeOrder(buyers[issued % buyers.length]!, [{ productId: products[issued % products.length]!, quantity: 1 }]).catch(
          () => void (failed += 1),
        );
        pending.add(order);
        void order.finally(() => pending.delete(order));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
      return { issued, failed };
    },
  };
}

/** One request before the load: a cell that only measured errors would be worse than none. */
async function checkAnswer(url: string, headers: Record<string, string>, body: string, what: string): Promise<void> {
  const response = await fetch(url, { method: "POST", headers, body });
  const answer = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (!response.ok || answer.errors?.length || !answer.data)
    throw new Error(`${what} answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
}

runBench(main);
