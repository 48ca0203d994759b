/**
 * What this machine can do right now, printed beside a benchmark's figures: machines of one kind differ
 * from day to day, so a figure means little without the calibration taken in the same run.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createRedis } from "@commerce/streams";
import { Client } from "pg";
import { percentile } from "./stats";

/** Bare one-insert transactions (begin, insert, commit) from 8 clients for 2 s: what the database sustains. */
export async function rawTxPerSecond(adminUrl: string): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      return c;
    }),
  );
  const table = `calibration_${randomBytes(3).toString("hex")}`;
  await clients[0]!.query(`create table ${table} (id bigserial primary key, v jsonb)`);
  const end = performance.now() + 2_000;
  let n = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        await c.query("begin");
        await c.query(`insert into ${table} (v) values ('{}')`);
        await c.query("commit");
        n += 1;
      }
    }),
  );
  await clients[0]!.query(`drop table ${table}`);
  await Promise.all(clients.map((c) => c.end()));
  return Math.round(n / 2);
}

/** One kind of round trip, done one at a time: its wall time and the client process's CPU per trip. */
export interface RoundTrip {
  p50Ms: number;
  p99Ms: number;
  cpuMicros: number;
}

async function roundTrips(fn: () => Promise<unknown>, n = 2_000): Promise<RoundTrip> {
  for (let i = 0; i < 200; i += 1) await fn(); // warm up the JIT and the connection
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i += 1) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), cpuMicros: (used.user + used.system) / n };
}

/**
 * The price of one hop to Postgres (`select 1`) and to Redis (`PING`) on plain clients, with nothing
 * else running: a floor under the cost of every statement and stream command the benchmark makes. On
 * a virtual machine whose cores wake each other slowly, a trip costs the client far more CPU than the
 * work it asks for (compare `perf bench sched pipe` with and without `taskset -c 0`).
 */
export async function roundTripCosts(adminUrl: string, redisUrl: string): Promise<{ postgres: RoundTrip; redis: RoundTrip }> {
  const pg = new Client({ connectionString: adminUrl });
  await pg.connect();
  const redis = createRedis(redisUrl);
  try {
    return { postgres: await roundTrips(() => pg.query("select 1")), redis: await roundTrips(() => redis.ping()) };
  } finally {
    await pg.end();
    redis.disconnect();
  }
}

/** `p50 0.21 ms, p99 1.6 ms, 190 µs of client CPU` */
export function describeRoundTrip(trip: RoundTrip): string {
  return `p50 ${trip.p50Ms.toFixed(2)} ms, p99 ${trip.p99Ms.toFixed(1)} ms, ${trip.cpuMicros.toFixed(0)} µs of client CPU`;
}
