/**
 * Outbox relay cost per batch, the relay's share of a saga.
 * `npm run bench -- relay`; what it does and its BENCH_* knobs: docs/BENCHMARKS.md, "How each bench runs".
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import pino from "pino";
import { commitWithEvents, createRedis, openStreamsOrm, OutboxRelay } from "@commerce/streams";
import { dropDatabases } from "../provision";
import { benchServers, runBench } from "./lib/run";
import { orderPlaced } from "./lib/streams-db";

const BATCHES = Number(process.env.BENCH_BATCHES ?? 1_500);
const WARMUP = 200;
const logger = pino({ level: "warn" });

/** CPU µs of this process per call of `round`, over `times` calls. */
async function cpuPerRound(times: number, round: (i: number) => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < times; i += 1) await round(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / times;
}

async function main(): Promise<void> {
  const { adminUrl, redisUrl, infra } = await benchServers();
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const database = `bench_relay_${randomBytes(3).toString("hex")}`;
  await admin.query(`create database ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const orm = await openStreamsOrm(url.toString(), 8);
  const redis = createRedis(redisUrl);
  try {
    await orm.getMigrator().up();
    const produce = (i: number) => commitWithEvents(orm.em.fork(), async (_tx, emit) => emit(orderPlaced(`order-${i}`)));
    const untilPublished = async (relay: OutboxRelay, count: number) => {
      // A timer poll, not setImmediate: spinning would bill the wait to the relay.
      while (relay.stats().published < count) await new Promise((resolve) => setTimeout(resolve, 1));
    };

    for (let i = 0; i < WARMUP; i += 1) await produce(i);
    const commitAlone = await cpuPerRound(BATCHES, produce);
    await orm.em.getConnection().execute("truncate outbox");

    const relay = new OutboxRelay({ orm, redis, prefix: `bench-relay-${randomBytes(2).toString("hex")}`, logger });
    await relay.start();
    for (let i = 0; i < WARMUP; i += 1) {
      await produce(i);
      await untilPublished(relay, i + 1);
    }
    const before = relay.stats();
    const withRelay = await cpuPerRound(BATCHES, async (i) => {
      await produce(i);
      await untilPublished(relay, before.published + i + 1);
    });
    const after = relay.stats();
    await relay.stop();

    console.log(`\n${BATCHES} one-row batches (${after.batches - before.batches} published batches; idle polls not counted)`);
    console.log(`   commit through the outbox, no relay: ${commitAlone.toFixed(0)} µs CPU each`);
    console.log(`   commit + relay batch publishing it:  ${withRelay.toFixed(0)} µs CPU each`);
    console.log(`   relay, per batch:                     ≈ ${(withRelay - commitAlone).toFixed(0)} µs CPU`);
  } finally {
    redis.disconnect();
    await orm.close(true);
    await admin.end();
    await dropDatabases(adminUrl, [{ database }]).catch(() => undefined);
    await infra?.stop();
  }
}

runBench(main);
