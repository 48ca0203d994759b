/**
 * Saga benchmark: orders placed through the gateway at fixed rates, timed until CONFIRMED.
 * `npm run bench -- saga`; what it does and its BENCH_* knobs: docs/BENCHMARKS.md, "How each bench runs".
 */
import os from "node:os";
import { createRedis, type RedisClient } from "@commerce/streams";
import { performance } from "node:perf_hooks";
import { rawTxPerSecond } from "./lib/calibrate";
import { cpuDelta, treeCpuMs } from "./lib/cpu";
import { consumerLag, HOPS, orderStatuses, sagaTimes, type SagaTimes } from "./lib/saga-timeline";
import { openLoop, wallNow } from "./lib/open-loop";
import { sqlStatements, startBenchPlatform, type BenchPlatform } from "./lib/platform";
import { setUpShop, type Shop } from "./lib/shop";
import { recordStatements } from "./lib/sql-log";
import { loadAverage, ms, summarize, table } from "./lib/stats";
import { runBench } from "./lib/run";

const RATES = (process.env.BENCH_RATES ?? "20,50,100,200,300")
  .split(",")
  .map(Number)
  .filter((r) => r > 0);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 15);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 200);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 50);
const GRACE_SECONDS = Number(process.env.BENCH_GRACE_SECONDS ?? 2);
const IDLE_ORDERS = Number(process.env.BENCH_IDLE_ORDERS ?? 10);
const PRICE = 100;

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;

interface Placement {
  sentAt: number;
  answeredAt?: number;
  id?: string;
  error?: string;
}

interface StepReport {
  rate: number;
  achieved: number;
  late: number;
  placed: Placement[];
  backlog: number;
  lag: { stream: string; group: string; lag: number; pending: number }[];
  sustained: boolean;
  /** CPU of each process tree from the step's start, read once the step's orders have settled */
  cpuStart: Record<string, number>;
  /** SQL statements each service had sent when the step started (db_queries_total) */
  queriesStart: Record<string, number>;
  benchCpuStart: NodeJS.CpuUsage;
  /** Filled by the report: what the summary compares. */
  figures?: StepFigures;
}

interface StepFigures {
  confirmedP99: number;
  statementsPerOrder: number;
  cpuPerOrder: Record<string, number>;
}

const say = (line: string) => console.log(`[saga-bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Places one order; never throws (errors are counted). */
function place(shop: Shop, i: number, out: Placement[], pending: Promise<void>[]): void {
  const customer = shop.customers[i % shop.customers.length]!;
  const productId = shop.productIds[Math.floor(Math.random() * shop.productIds.length)]!;
  const entry: Placement = { sentAt: wallNow() };
  out.push(entry);
  pending.push(
    customer.client.raw<{ placeOrder: { id: string } }>(PLACE, { input: { items: [{ productId, quantity: 1 }] } }).then(
      (body) => {
        entry.answeredAt = wallNow();
        if (body.data?.placeOrder) entry.id = body.data.placeOrder.id;
        else entry.error = body.errors?.map((e) => `${e.extensions?.code ?? ""} ${e.message}`).join("; ") ?? "no data";
      },
      (error: Error) => {
        entry.answeredAt = wallNow();
        entry.error = error.message;
      },
    ),
  );
}

/** Polls (cheaply: one query on the order database) until every order has left PENDING/STOCK_RESERVED, or the deadline. */
async function drain(platform: BenchPlatform, ids: string[], timeoutMs: number): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await orderStatuses(platform.adminUrls.order, ids);
    const open = ids.filter((id) => ["PENDING", "STOCK_RESERVED"].includes(statuses.get(id) ?? "PENDING"));
    if (open.length === 0 || Date.now() > deadline) return statuses;
    await sleep(250);
  }
}

async function runStep(platform: BenchPlatform, redis: RedisClient, shop: Shop, rate: number, seconds: number): Promise<StepReport> {
  const placed: Placement[] = [];
  const pending: Promise<void>[] = [];
  const queriesStart = await sqlStatements(platform);
  const cpuStart = treeCpuMs(platform.pids());
  const benchCpuStart = process.cpuUsage();
  const loop = await openLoop(rate, seconds * 1000, (i) => place(shop, i, placed, pending));
  const lag = await consumerLag(redis, platform.streamPrefix, ["order", "product", "payment"]);
  await Promise.all(pending);
  const lastSend = placed[placed.length - 1]!.sentAt;
  const graceLeft = lastSend + GRACE_SECONDS * 1000 - wallNow();
  if (graceLeft > 0) await sleep(graceLeft);
  const ids = placed.flatMap((p) => (p.id ? [p.id] : []));
  const afterGrace = await orderStatuses(platform.adminUrls.order, ids);
  const backlog = ids.filter((id) => afterGrace.get(id) !== "CONFIRMED").length;
  const errors = placed.length - ids.length;
  const achieved = (placed.length / loop.elapsedMs) * 1000;
  return {
    rate,
    achieved,
    late: loop.late,
    placed,
    backlog,
    lag,
    sustained: achieved >= rate * 0.95 && errors === 0 && backlog <= Math.max(1, ids.length * 0.01),
    cpuStart,
    benchCpuStart,
    queriesStart,
  };
}

async function report(platform: BenchPlatform, step: StepReport): Promise<string[]> {
  const ids = step.placed.flatMap((p) => (p.id ? [p.id] : []));
  const statuses = await drain(platform, ids, 60_000);
  const cpu = cpuDelta(step.cpuStart, treeCpuMs(platform.pids()));
  const benchCpu = process.cpuUsage(step.benchCpuStart);
  cpu["bench client"] = (benchCpu.user + benchCpu.system) / 1000;
  const queries = await sqlStatements(platform);
  const times = await sagaTimes(platform.adminUrls, ids);
  const toConfirmed: number[] = [];
  for (const p of step.placed) {
    const confirmedAt = p.id ? times.get(p.id)?.confirmedAt : undefined;
    if (confirmedAt !== undefined) toConfirmed.push(confirmedAt - p.sentAt);
  }
  const request = summarize(step.placed.filter((p) => p.answeredAt).map((p) => p.answeredAt! - p.sentAt));
  const confirmed = summarize(toConfirmed);
  const errors = step.placed.filter((p) => p.error);
  const outcomes = new Map<string, number>();
  for (const id of ids) outcomes.set(statuses.get(id) ?? "?", (outcomes.get(statuses.get(id) ?? "?") ?? 0) + 1);
  const lines = [
    `step ${step.rate} orders/s: achieved ${step.achieved.toFixed(1)}/s (${step.placed.length} sent, ${step.late} sent >10 ms late by the generator)`,
    `  placeOrder request       p50 ${ms(request.p50)}  p99 ${ms(request.p99)}  max ${ms(request.max)} ms`,
    `  send → CONFIRMED         p50 ${ms(confirmed.p50)}  p95 ${ms(confirmed.p95)}  p99 ${ms(confirmed.p99)}  max ${ms(confirmed.max)} ms (n=${confirmed.n})`,
    `  backlog ${GRACE_SECONDS} s after the last send: ${step.backlog} not CONFIRMED; final outcomes ${[...outcomes].map(([s, n]) => `${s}=${n}`).join(" ")}${errors.length ? `; ${errors.length} placeOrder errors (first: ${errors[0]!.error})` : ""}`,
    `  consumer lag at step end (undelivered/pending): ${step.lag
      .filter((l) => ["product", "payment", "order"].includes(l.group))
      .map((l) => `${l.stream}→${l.group} ${l.lag}/${l.pending}`)
      .join(", ")}`,
    `  ${step.sustained ? "SUSTAINED" : "NOT sustained"} (rate within 5 %, no errors, ≤ 1 % unconfirmed after ${GRACE_SECONDS} s)`,
  ];
  lines.push(hopTable(step.placed, times));
  // Idle work (polls, sweeps) during the drain is included: a small overestimate at low rates.
  const perOrder = (name: string) => (cpu[name]! / Math.max(1, ids.length)).toFixed(2);
  const total = Object.entries(cpu)
    .filter(([name]) => name !== "bench client")
    .reduce((sum, [, v]) => sum + v, 0);
  lines.push(
    `  CPU ms per order: ${Object.keys(cpu)
      .map((name) => `${name} ${perOrder(name)}`)
      .join(
        ", ",
      )}; platform total ${(total / Math.max(1, ids.length)).toFixed(1)} → at most ~${Math.round((os.cpus().length * 1000 * Math.max(1, ids.length)) / Math.max(1, total))} orders/s on ${os.cpus().length} cores`,
  );
  const statements = Object.fromEntries(
    Object.keys(queries).map((svc) => [svc, (queries[svc]! - (step.queriesStart[svc] ?? 0)) / Math.max(1, ids.length)]),
  );
  const statementsPerOrder = Object.values(statements).reduce((a, b) => a + b, 0);
  lines.push(
    `  SQL statements per order: ${statementsPerOrder.toFixed(1)} (${Object.entries(statements)
      .map(([svc, n]) => `${svc} ${n.toFixed(1)}`)
      .join(", ")})`,
  );
  step.figures = {
    confirmedP99: confirmed.p99,
    statementsPerOrder,
    cpuPerOrder: Object.fromEntries(Object.entries(cpu).map(([name, v]) => [name, v / Math.max(1, ids.length)])),
  };
  return lines;
}

/** Where the time of each order went, hop by hop (p50/p95/p99 ms over the orders that made the hop). */
function hopTable(placed: Placement[], times: Map<string, SagaTimes>): string {
  const rows = [["  hop (ms)", "p50", "p95", "p99"]];
  const timeline = [...times.values()];
  const send = new Map(placed.flatMap((p) => (p.id ? [[p.id, p.sentAt] as const] : [])));
  const first = summarize(timeline.filter((t) => t.placedTx !== undefined).map((t) => t.placedTx! - send.get(t.orderId)!));
  rows.push(["  client send → placement tx start", ms(first.p50), ms(first.p95), ms(first.p99)]);
  const answered = new Map(placed.flatMap((p) => (p.id && p.answeredAt ? [[p.id, p.answeredAt] as const] : [])));
  const answer = summarize(timeline.filter((t) => t.placedTx !== undefined).map((t) => answered.get(t.orderId)! - t.placedTx!));
  rows.push(["  (placement tx start → client has the answer)", ms(answer.p50), ms(answer.p95), ms(answer.p99)]);
  for (const [label, from, to] of HOPS) {
    const s = summarize(timeline.filter((t) => t[from] !== undefined && t[to] !== undefined).map((t) => (t[to] as number) - (t[from] as number)));
    rows.push([`  ${label}`, ms(s.p50), ms(s.p95), ms(s.p99)]);
  }
  return table(rows);
}

/**
 * Single orders one second apart on an otherwise idle platform: placeOrder → CONFIRMED as a customer
 * waits for it, with nothing queued ahead.
 */
async function idleStep(platform: BenchPlatform, shop: Shop, orders: number): Promise<string[]> {
  const placed: Placement[] = [];
  for (let i = 0; i < orders; i += 1) {
    const pending: Promise<void>[] = [];
    place(shop, i, placed, pending);
    await Promise.all(pending);
    await sleep(1_000);
  }
  const ids = placed.flatMap((p) => (p.id ? [p.id] : []));
  await drain(platform, ids, 30_000);
  const times = await sagaTimes(platform.adminUrls, ids);
  const toConfirmed = placed.flatMap((p) => {
    const at = p.id ? times.get(p.id)?.confirmedAt : undefined;
    return at === undefined ? [] : [at - p.sentAt];
  });
  const request = summarize(placed.filter((p) => p.answeredAt).map((p) => p.answeredAt! - p.sentAt));
  const confirmed = summarize(toConfirmed);
  return [
    `idle: ${orders} single orders one second apart`,
    `  placeOrder request       p50 ${ms(request.p50)}  max ${ms(request.max)} ms`,
    `  placeOrder → CONFIRMED   p50 ${ms(confirmed.p50)}  max ${ms(confirmed.max)} ms (n=${confirmed.n}; goal p50 ≤ 20 ms)`,
    hopTable(placed, times),
  ];
}

async function main(): Promise<void> {
  say(`${await loadAverage()} (figures taken on a loaded machine are pessimistic)`);
  const started = performance.now();
  const perCustomer = Math.ceil((RATES.reduce((a, r) => a + r, 0) * STEP_SECONDS + 100) / CUSTOMERS);
  const platform = await startBenchPlatform({
    durable: process.env.BENCH_DURABLE !== "0",
    env: {
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
      RATE_LIMIT_PER_MINUTE: "1000000",
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      WALLET_OPENING_BALANCE: String(Math.min(2 ** 31 - 1, perCustomer * PRICE * 4)),
      SAGA_DEADLINE_MS: "600000", // an overloaded step must show as latency, not as expired orders
      ACCESS_TOKEN_TTL: "86400",
    },
    log: say,
    profile: process.env.BENCH_PROFILE?.split(",").filter(Boolean),
  });
  const redis = createRedis(platform.redisUrl);
  try {
    say(`platform up in ${Math.round((performance.now() - started) / 1000)} s (logs: ${platform.logDir})`);
    const shop = await setUpShop(platform.gatewayUrl, {
      products: PRODUCTS,
      customers: CUSTOMERS,
      stockPerProduct: 10_000_000,
      price: PRICE,
      minBalance: perCustomer * PRICE,
      log: say,
    });
    say("warm-up: 20 orders/s for 5 s");
    const warm = await runStep(platform, redis, shop, 20, 5);
    await drain(
      platform,
      warm.placed.flatMap((p) => (p.id ? [p.id] : [])),
      30_000,
    );
    const calibration = await rawTxPerSecond(platform.pgAdminUrl);
    say(
      `calibration: bare pg INSERT transactions, 8 clients: ${calibration} tx/s (goal: sustain ≥ 1/50 of it, ${Math.round(calibration / 50)} orders/s)`,
    );
    if (IDLE_ORDERS > 0) for (const line of await idleStep(platform, shop, IDLE_ORDERS)) console.log(line);
    const steps: StepReport[] = [];
    for (const rate of RATES) {
      say(`step: ${rate} orders/s for ${STEP_SECONDS} s (${await loadAverage()})`);
      platform.toggleProfiles(); // start (BENCH_PROFILE)
      const sqlLog = process.env.BENCH_LOG_SQL === "1" ? await recordStatements(platform.pgAdminUrl, platform.pgLogFile) : null;
      const step = await runStep(platform, redis, shop, rate, STEP_SECONDS);
      steps.push(step);
      const lines = await report(platform, step);
      platform.toggleProfiles(); // write
      for (const line of lines) console.log(line);
      if (sqlLog) {
        const orders = step.placed.filter((p) => p.id).length;
        const counts = [...(await sqlLog())].sort((a, b) => b[1] - a[1]).slice(0, 40);
        console.log("  statements per order by database and shape (BENCH_LOG_SQL; includes the drain and the bench’s own reads):");
        for (const [shape, n] of counts) console.log(`  ${(n / Math.max(1, orders)).toFixed(2).padStart(6)}  ${shape}`);
      }
    }
    const best = steps.filter((s) => s.sustained).reduce<StepReport | null>((a, s) => (a && a.rate >= s.rate ? a : s), null);
    const at20 = steps.find((s) => s.rate === 20);
    console.log(`\nsummary (calibration ${calibration} tx/s, taken in this run):`);
    console.log(
      `  highest rate sustained without a growing backlog: ${best ? `${best.rate} orders/s = 1/${Math.round(calibration / best.rate)} of the calibration (goal ≥ 1/50), p99 send → CONFIRMED ${ms(best.figures!.confirmedP99)} ms (goal ≤ 250)` : "none of the steps"}`,
    );
    if (at20)
      console.log(
        `  at 20 orders/s: p99 send → CONFIRMED ${ms(at20.figures!.confirmedP99)} ms (goal ≤ 60), ${at20.figures!.statementsPerOrder.toFixed(1)} SQL statements per order (goal ≤ 25)`,
      );
    for (const s of steps) {
      const cpu = Object.entries(s.figures!.cpuPerOrder)
        .map(([name, v]) => `${name} ${v.toFixed(1)}`)
        .join(", ");
      console.log(`  ${s.rate}/s: ${s.figures!.statementsPerOrder.toFixed(1)} statements per order; CPU ms per order: ${cpu}`);
    }
    console.log(`${await loadAverage()}\n`);
    if (process.env.BENCH_KEEP === "1") {
      say(`platform kept up: gateway ${platform.gatewayUrl}; Ctrl-C to stop`);
      await new Promise((resolve) => process.once("SIGINT", resolve));
    }
  } finally {
    redis.disconnect();
    await platform.stop();
  }
}

runBench(main);
