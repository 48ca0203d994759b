/**
 * Event backbone benchmark: outbox commit → relay → Redis Streams → consumer group → handler commit.
 * `npm run bench -- streams`; what it does and its BENCH_* knobs: docs/BENCHMARKS.md, "How each bench runs".
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import pino from "pino";
import { commitWithEvents, createRedis, openStreamsOrm, OutboxRelay, type ConsumerStats } from "@commerce/streams";
import type { EventEnvelope } from "@commerce/schema";
import { describeRoundTrip, rawTxPerSecond, roundTripCosts } from "./lib/calibrate";
import { dropDatabases } from "../provision";
import { makeDurable } from "./lib/platform";
import { benchServers, runBench } from "./lib/run";
import { orderPlaced } from "./lib/streams-db";
import { percentile } from "./lib/stats";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const FIXED_RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : null;
const IDLE = Number(process.env.BENCH_IDLE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const MAX_BATCH = Number(process.env.BENCH_MAX_BATCH ?? 32);
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });
/** Wall-clock milliseconds with sub-millisecond precision, comparable with the replicas' clocks. */
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const { adminUrl, redisUrl, infra } = await benchServers();
  if (infra && process.env.BENCH_DURABLE !== "0") await makeDurable(adminUrl);
  const database = `bench_streams_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${database}`);
  if (process.env.BENCH_ASYNC_COMMIT === "1") await admin.query(`alter database ${database} set synchronous_commit = off`);
  const calibration = await rawTxPerSecond(adminUrl);
  const trips = await roundTripCosts(adminUrl, redisUrl);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;

  const producerOrm = await openStreamsOrm(url.toString(), 16);
  await producerOrm.getMigrator().up();
  await producerOrm.em.getConnection().execute("create table bench_effect (event_id uuid primary key, order_id text not null)");
  const redis = createRedis(redisUrl);
  const prefix = `bench_${randomBytes(3).toString("hex")}`;

  const committedAt = new Map<string, number>();
  const xaddAt = new Map<string, number>();
  let latencies: number[] = [];
  /** The two halves of each latency: commit → XADD (the relay) and XADD → handled (Redis and the consumer). */
  let toXadd: number[] = [];
  let fromXadd: number[] = [];
  let done = 0;
  let lastDone = 0;
  const replicaStats: { stats: ConsumerStats; cpuMicros: number }[] = [];
  const replicas = await Promise.all(
    ["replica-0", "replica-1"].map(
      (name) =>
        new Promise<ChildProcess>((resolve, reject) => {
          const child = fork(path.join(__dirname, "streams-replica.ts"), [], {
            execArgv: [
              "-r",
              "@swc-node/register",
              ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
            ],
            env: {
              ...process.env,
              BENCH_REPLICA: JSON.stringify({ databaseUrl: url.toString(), redisUrl, prefix, name, concurrency: CONCURRENCY, maxBatch: MAX_BATCH }),
            },
          });
          child.on("message", (message: { ready?: boolean; applied?: [string, number, number][]; stats?: ConsumerStats; cpuMicros?: number }) => {
            if (message.ready) resolve(child);
            for (const [id, at, xadd] of message.applied ?? []) {
              const start = committedAt.get(id);
              if (start !== undefined) {
                latencies.push(at - start);
                // When the relay's XADD was acknowledged, else the entry id's whole millisecond (+ 0.5).
                const published = xaddAt.get(id) ?? xadd + 0.5;
                toXadd.push(published - start);
                fromXadd.push(at - published);
              }
              done += 1;
              lastDone = Math.max(lastDone, at);
            }
            if (message.stats) replicaStats.push({ stats: message.stats, cpuMicros: message.cpuMicros! });
          });
          child.once("exit", (code) => code && reject(new Error(`${name} exited with ${code}`)));
        }),
    ),
  );
  const relay = new OutboxRelay({
    orm: producerOrm,
    redis,
    prefix,
    logger,
    afterXadd: (entries) => {
      const at = now();
      for (const entry of entries) xaddAt.set(entry.eventId, at);
    },
  });
  await relay.start();
  const cpuStart = process.cpuUsage();

  const waitFor = async (n: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (done < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return done >= n;
  };

  const sortedMs = (values: number[]) => [...values].sort((a, b) => a - b);
  const describe = (values: number[]) => {
    const sorted = sortedMs(values);
    return `p50 ${percentile(sorted, 50).toFixed(1)} ms   p90 ${percentile(sorted, 90).toFixed(1)} ms   p99 ${percentile(sorted, 99).toFixed(1)} ms`;
  };
  const reset = () => {
    done = 0;
    latencies = [];
    toXadd = [];
    fromXadd = [];
  };

  // 1. Idle: one event per commit, 20 ms apart (nothing else in flight).
  let idleHopP50 = NaN;
  {
    reset();
    for (let i = 0; i < IDLE; i += 1) {
      const e = orderPlaced(`idle-${i}`);
      await commitWithEvents(producerOrm.em.fork(), async (_tx, emit) => emit(e));
      committedAt.set(e.id, now());
      await new Promise((r) => setTimeout(r, 20));
    }
    const complete = await waitFor(IDLE, 30_000);
    idleHopP50 = percentile(sortedMs(toXadd), 50);
    console.log(`\n1. idle: ${IDLE} single-event commits 20 ms apart${complete ? "" : "  INCOMPLETE"}`);
    console.log(`   commit → XADD acknowledged (relay hop): ${describe(toXadd)}`);
    console.log(`   commit → handler commit + ack:          ${describe(latencies)}`);
  }

  // 2. Throughput: 8 producers, 10 events per transaction, 2,000 distinct orders.
  let throughput = 0;
  {
    reset();
    const producers = 8;
    const perTx = 10;
    const started = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: producers }, async () => {
        while (next < EVENTS) {
          const batch: EventEnvelope[] = [];
          for (let i = 0; i < perTx && next < EVENTS; i += 1, next += 1) batch.push(orderPlaced(`order-${next % 2000}`));
          await commitWithEvents(producerOrm.em.fork(), async (_tx, emit) => batch.forEach(emit));
        }
      }),
    );
    const producedMs = now() - started;
    const complete = await waitFor(EVENTS, 120_000);
    const totalMs = lastDone - started;
    throughput = (done / totalMs) * 1000;
    console.log(
      `\n2. throughput (${EVENTS} events, 8 producers × ${perTx} events/tx; 2 replica processes × concurrency ${CONCURRENCY}, group commit ≤ ${MAX_BATCH})`,
    );
    console.log(`   outbox commits: ${Math.round((EVENTS / producedMs) * 1000)} events/s`);
    console.log(
      `   commit → handler commit: ${Math.round((done / totalMs) * 1000)} events/s (${done} in ${Math.round(totalMs)} ms)${complete ? "" : "  INCOMPLETE"}`,
    );
  }

  // 3. Latency at a fixed rate (a tenth of the throughput unless BENCH_RATE), one event per transaction.
  const RATE = FIXED_RATE ?? Math.max(10, Math.round(throughput / 10));
  let p99AtRate = NaN;
  {
    reset();
    const total = RATE * SECONDS;
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    let sent = 0;
    for (let tick = 0; sent < total; tick += 1) {
      const due = started + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let i = 0; i < perTick && sent < total; i += 1, sent += 1) {
        const e = orderPlaced(`latency-${sent % 500}`);
        inflight.push(
          commitWithEvents(producerOrm.em.fork(), async (_tx, emit) => emit(e)).then(() => {
            committedAt.set(e.id, now());
          }),
        );
      }
    }
    await Promise.all(inflight);
    const sendMs = performance.now() - started;
    const complete = await waitFor(total, 60_000);
    const sorted = sortedMs(latencies);
    p99AtRate = percentile(sorted, 99);
    console.log(
      `\n3. latency at ${RATE} events/s${FIXED_RATE ? "" : " (a tenth of the throughput)"} for ${SECONDS} s (1 event per producer transaction; commit → handler commit + ack)`,
    );
    console.log(`   offered: ${Math.round((total / sendMs) * 1000)} events/s; delivered ${done}/${total}${complete ? "" : "  INCOMPLETE"}`);
    console.log(
      `   p50 ${percentile(sorted, 50).toFixed(1)} ms   p90 ${percentile(sorted, 90).toFixed(1)} ms   p99 ${percentile(sorted, 99).toFixed(1)} ms   max ${sorted[sorted.length - 1]?.toFixed(1)} ms`,
    );
    console.log(`   commit → XADD (relay): ${describe(toXadd)}`);
    console.log(`   XADD → handled (consumer): ${describe(fromXadd)}`);
  }

  const producerCpu = process.cpuUsage(cpuStart);
  await Promise.all(
    replicas.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.send({ stop: true });
        }),
    ),
  );
  const events = IDLE + EVENTS + RATE * SECONDS;
  console.log(`\ncalibration: bare pg INSERT transactions, 8 clients, on this machine now: ${calibration} tx/s`);
  console.log(`one round trip, one at a time: Postgres select 1 ${describeRoundTrip(trips.postgres)}; Redis PING ${describeRoundTrip(trips.redis)}`);
  console.log(`relay: ${JSON.stringify(relay.stats())}`);
  for (const [i, { stats, cpuMicros }] of replicaStats.entries()) {
    const { handlerLatencyMs, shared, ...rest } = stats;
    console.log(
      `replica ${i}: ${JSON.stringify(rest)}; ${shared.transactions} shared transactions, ${(shared.events / Math.max(1, shared.transactions)).toFixed(1)} events each, ${shared.rolledBack} rolled back; mean transaction ${(handlerLatencyMs.sum / Math.max(1, handlerLatencyMs.count)).toFixed(1)} ms`,
    );
  }
  const replicaCpu = replicaStats.reduce((sum, r) => sum + r.cpuMicros, 0);
  console.log(
    `node CPU per event: producers + relay ${((producerCpu.user + producerCpu.system) / events).toFixed(0)} µs, consumer replicas ${(replicaCpu / events).toFixed(0)} µs`,
  );
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  const ratio = throughput / calibration;
  console.log("\ngoals (issue 15), against the calibration of this run:");
  console.log(`   events/s commit → handled ÷ calibration: ${ratio.toFixed(2)} (goal ≥ 1.0: ${verdict(ratio >= 1)})`);
  console.log(
    `   p99 at ${RATE} events/s${FIXED_RATE ? "" : " (a tenth of the maximum)"}: ${p99AtRate.toFixed(1)} ms (goal ≤ 10 ms: ${verdict(p99AtRate <= 10)})`,
  );
  console.log(`   idle commit → published hop p50: ${idleHopP50.toFixed(2)} ms (goal ≤ 2 ms: ${verdict(idleHopP50 <= 2)})\n`);

  await relay.stop();
  await producerOrm.close();
  redis.disconnect();
  await admin.end();
  await dropDatabases(adminUrl, [{ database }]);
  await infra?.stop();
}

runBench(main);
