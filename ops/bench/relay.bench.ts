/**
 * Outbox relay cost per batch, the relay's share of a saga: in the saga each commit is followed by a
 * batch of one or two rows, so what a batch costs in CPU matters more than how many rows one can carry.
 *
 *   node -r @swc-node/register ops/bench/relay.bench.ts      (or: npm run bench -- relay)
 *
 * One process, its own Postgres and Redis (or TEST_PG_ADMIN_URL / TEST_REDIS_URL): BENCH_BATCHES
 * (default 1,500) times, commit one event through the outbox and wait until the relay has published
 * it, so every batch carries one row. The relay's CPU per batch is this process's CPU per round minus
 * the same commits without a relay. Prints figures; never fails on them.
 */
import { randomBytes } from "node:crypto";
import { Migrator } from "@mikro-orm/migrations";
import { MikroORM } from "@mikro-orm/postgresql";
import { Client } from "pg";
import pino from "pino";
import { commitWithEvents, createEvent, createRedis, OutboxRelay, streamsEntities, streamsMigrations } from "@commerce/streams";
import { dropDatabases } from "../provision";
import { benchServers, runBench } from "./lib/run";

const BATCHES = Number(process.env.BENCH_BATCHES ?? 1_500);
const WARMUP = 200;
const logger = pino({ level: "warn" });

const placed = (orderId: string) =>
  createEvent(
    "order.placed",
    {
      orderId,
      userId: "user-1",
      items: [{ productId: "product-1", quantity: 1, unitPrice: { amount: 990, currency: "EUR" } }],
      total: { amount: 990, currency: "EUR" },
    },
    { correlationId: orderId },
  );

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
  const orm = await MikroORM.init({
    clientUrl: url.toString(),
    entities: streamsEntities,
    extensions: [Migrator],
    migrations: { migrationsList: streamsMigrations, silent: true },
    pool: { min: 0, max: 8 },
    debug: false,
  });
  const redis = createRedis(redisUrl);
  try {
    await orm.getMigrator().up();
    const produce = (i: number) => commitWithEvents(orm.em.fork(), async (_tx, emit) => emit(placed(`order-${i}`)));
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
