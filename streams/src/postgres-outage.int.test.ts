/**
 * A Postgres outage is waited out, not counted against the events in flight: none is dead-lettered.
 * This suite runs its own Postgres (the shared test server must not be restarted under other suites).
 */
import { dlqKey } from "./keys";
import { effects, eventually, placed, startOwnPostgres, useStreamsSuite, xaddEvent, type OwnPostgres, OUTAGE_CONSUMER } from "./testing/harness";
import { isTransientInfrastructureError } from "./transient";

let pg: OwnPostgres;
const suite = useStreamsSuite("pg_outage", {
  poolMax: 4,
  database: async () => (pg = await startOwnPostgres("pg-outage")),
  timeoutMs: 60_000,
});

test("events that arrive while Postgres restarts are applied once it is back, none dead-lettered", async () => {
  const consumer = suite.consumer({
    ...OUTAGE_CONSUMER,
    // few deliveries and fast retries: without the fix the outage exhausts them within a second
    maxDeliveries: 3,
  });
  await consumer.start();

  // The throwaway server runs with synchronous_commit off: make the schema durable before crashing it,
  // or an immediate stop may take the freshly created tables with it.
  await suite.orm.em.getConnection().execute("checkpoint");
  await pg.crash();
  const events = [placed("order-a", 1), placed("order-b", 1), placed("order-c", 1)];
  for (const event of events) await xaddEvent(suite.redis, suite.prefix, event);
  // well past maxDeliveries failed attempts per event while the database is down
  await eventually("the handlers to fail through the outage", () => consumer.stats().failed >= events.length * 4, 20_000);
  expect(await suite.redis.xlen(dlqKey(suite.prefix, "svc"))).toBe(0);

  await pg.restart();
  const applied = await eventually(
    "every event to be applied",
    async () => {
      const rows = await effects(suite.orm);
      return rows.length === events.length ? rows : null;
    },
    20_000,
  );
  expect(applied.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
  expect(await suite.redis.xlen(dlqKey(suite.prefix, "svc"))).toBe(0);
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
