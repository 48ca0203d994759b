/**
 * A Postgres outage is waited out, not counted against the events in flight: none is dead-lettered.
 * This suite runs its own Postgres (the shared test server must not be restarted under other suites).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { MikroORM } from "@mikro-orm/postgresql";
import type Redis from "ioredis";
import { adminUrlFor, freePort, startPostgres, stopPostgresAt, type PgServer } from "@commerce/testing";
import type { StreamConsumer } from "./consumer";
import { dlqKey } from "./keys";
import { effectConsumer, effects, eventually, migrate, openOrm, placed, randomStreamPrefix, redisClient, xaddEvent } from "./testing/harness";
import { isTransientInfrastructureError } from "./transient";

const PASSWORD = "outage-test-password";
let dir: string;
let pg: PgServer;
let orm: MikroORM;
let redis: Redis;
let consumer: StreamConsumer | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "streams-pg-outage-"));
  fs.chmodSync(dir, 0o755); // the postgres OS user must traverse it when we run as root
  pg = await startPostgres({ dir: path.join(dir, "pg"), adminPassword: PASSWORD, port: await freePort(), ephemeral: true });
  orm = await openOrm(adminUrlFor(pg.port, PASSWORD), 4);
  await migrate(orm);
  redis = redisClient();
}, 60_000);

afterAll(async () => {
  await consumer?.stop();
  await orm?.close(true);
  redis?.disconnect();
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

test("events that arrive while Postgres restarts are applied once it is back, none dead-lettered", async () => {
  const prefix = randomStreamPrefix("pg_outage");
  consumer = effectConsumer(orm, redis, prefix, {
    blockMs: 200,
    // few deliveries and fast retries: without the fix the outage exhausts them within a second
    maxDeliveries: 3,
    retryBaseMs: 50,
    retryMaxMs: 400,
    claimIdleMs: 60_000,
  });
  await consumer.start();

  // The throwaway server runs with synchronous_commit off: make the schema durable before crashing it,
  // or an immediate stop may take the freshly created tables with it.
  await orm.em.getConnection().execute("checkpoint");
  await stopPostgresAt(pg.dataDir, pg.bindir, pg.user, "immediate");
  const events = [placed("order-a", 1), placed("order-b", 1), placed("order-c", 1)];
  for (const event of events) await xaddEvent(redis, prefix, event);
  // well past maxDeliveries failed attempts per event while the database is down
  await eventually("the handlers to fail through the outage", () => consumer!.stats().failed >= events.length * 4, 20_000);
  expect(await redis.xlen(dlqKey(prefix, "svc"))).toBe(0);

  await startPostgres({ dir: path.join(dir, "pg"), adminPassword: PASSWORD, port: pg.port, ephemeral: true });
  const applied = await eventually(
    "every event to be applied",
    async () => {
      const rows = await effects(orm);
      return rows.length === events.length ? rows : null;
    },
    20_000,
  );
  expect(applied.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
  expect(await redis.xlen(dlqKey(prefix, "svc"))).toBe(0);
  expect(consumer.stats().deadLettered).toBe(0);
}, 90_000);

test("a handler bug is not mistaken for an outage", () => {
  expect(isTransientInfrastructureError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
  expect(isTransientInfrastructureError(Object.assign(new Error("duplicate key value"), { code: "23505" }))).toBe(false);
  expect(isTransientInfrastructureError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe(true);
  expect(
    isTransientInfrastructureError(Object.assign(new Error("wrapped"), { previous: Object.assign(new Error("starting up"), { code: "57P03" }) })),
  ).toBe(true);
});
