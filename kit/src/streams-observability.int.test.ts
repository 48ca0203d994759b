import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { OutboxRelay, PUBLISHED_AT_SQL, StreamConsumer, commitWithEvents, streamKey, streamsEntities, streamsMigrations } from "@commerce/streams";
import { createTestDatabase, randomStreamPrefix, type TestDatabase, eventually } from "@commerce/testing";
import { orderPlaced } from "@commerce/testing/events";
import { createLogger, memoryLogger } from "./logger";
import { createMetrics } from "./metrics";
import { afterCommit, openDatabase, type Orm } from "./orm";
import { registerStreamMetrics } from "./stream-metrics";

describe("the event backbone, observed", () => {
  let db: TestDatabase;
  let orm: Orm;
  let redis: Redis;
  let prefix: string;
  const silent = createLogger({ service: "test", level: "silent" });

  beforeAll(async () => {
    db = await createTestDatabase("kit_streams_obs");
    orm = await openDatabase({ databaseUrl: db.url, entities: streamsEntities, migrations: streamsMigrations, logger: silent });
    redis = new Redis(process.env.TEST_REDIS_URL!);
  });
  beforeEach(() => {
    prefix = randomStreamPrefix("obs");
  });
  afterAll(async () => {
    redis?.disconnect();
    await orm?.close(true);
    await db?.drop();
  });

  it("gives a handler a logger whose lines carry service, eventId, eventType and correlationId", async () => {
    const { logger, lines } = memoryLogger("payment");
    const consumer = new StreamConsumer({
      redis,
      orm,
      prefix,
      service: "payment",
      consumerName: "payment-test",
      streams: ["order"],
      logger,
      handlers: { "order.placed": async (_event, ctx) => ctx.logger.info("charging the wallet") },
    });
    await consumer.start();
    try {
      const event = orderPlaced(randomUUID());
      await redis.xadd(streamKey(prefix, "order"), "*", "id", event.id, "type", event.type, "envelope", JSON.stringify(event));
      const line = await eventually("the handler's log line", () => lines().find((l) => l.msg === "charging the wallet"));
      expect(line).toMatchObject({ service: "payment", eventId: event.id, eventType: "order.placed", correlationId: event.correlationId });
    } finally {
      await consumer.stop();
    }
  });

  it("reports lag and pending per stream and group from Redis, and the relay slot's lag and leadership from Postgres", async () => {
    const metrics = createMetrics("payment");
    const key = streamKey(prefix, "order");
    // A consumer that is never started: the group reads by hand below, so the numbers are exact.
    const consumer = new StreamConsumer({
      redis,
      orm,
      prefix,
      service: "payment",
      consumerName: "c1",
      streams: ["order"],
      handlers: {},
      logger: silent,
    });
    const relay = new OutboxRelay({ orm, redis, prefix, logger: silent });
    registerStreamMetrics({ metrics, redis, orm, prefix, service: "payment", streams: ["order"], consumer, relay, logger: silent });
    const read = async (name: string) =>
      (await (await metrics.registry.getSingleMetric(name)!.get()).values).map((v) => ({ ...v.labels, value: v.value }));

    await redis.xgroup("CREATE", key, "payment", "0", "MKSTREAM");
    for (let i = 0; i < 3; i += 1) await redis.xadd(key, "*", "n", String(i));
    expect(await read("stream_consumer_lag")).toContainEqual({ stream: "order", group: "payment", value: 3 });
    await redis.xreadgroup("GROUP", "payment", "c1", "COUNT", 2, "STREAMS", key, ">");
    expect(await read("stream_consumer_lag")).toContainEqual({ stream: "order", group: "payment", value: 1 });
    expect(await read("stream_pending")).toContainEqual({ stream: "order", group: "payment", value: 2 });
    // The replay stream does not exist yet: no lag series, nothing pending.
    expect(await read("stream_pending")).toContainEqual({ stream: "replay", group: "payment", value: 0 });

    // The slot keeps the WAL of what the relay has not confirmed: it grows while the relay is away.
    expect(await read("outbox_slot_lag_bytes")).toEqual([{ value: 0 }]); // no slot before the relay's first start
    await relay.start();
    await eventually("the relay streaming", () => relay.stats().leader);
    expect(await read("outbox_relay_leader")).toEqual([{ value: 1 }]);
    await relay.stop();
    const lag = async () => (await read("outbox_slot_lag_bytes"))[0]?.value ?? -1;
    const before = await lag();
    await commitWithEvents(orm.em.fork(), async (_tx, emit) => [orderPlaced(randomUUID()), orderPlaced(randomUUID())].forEach(emit));
    expect(await lag()).toBeGreaterThan(before);
    expect(await read("outbox_relay_leader")).toEqual([{ value: 0 }]);
    expect(await read("stream_dead_letters")).toEqual([{ value: 0 }]);
  });

  it("runs afterCommit callbacks once the transaction commits, and never for one rolled back (saga outcome counts)", async () => {
    const ran: string[] = [];
    await commitWithEvents(orm.em.fork(), async (tx) => {
      afterCommit(tx, () => ran.push("committed"));
      expect(ran).toEqual([]); // not while the transaction is open
    });
    expect(ran).toEqual(["committed"]);
    await expect(
      orm.em.fork().transactional(async (tx) => {
        afterCommit(tx, () => ran.push("rolled back"));
        throw new Error("handler failed");
      }),
    ).rejects.toThrow("handler failed");
    // The next transaction of the same ORM does not inherit the callback of the rolled-back one.
    await orm.em.fork().transactional(async () => undefined);
    expect(ran).toEqual(["committed"]);
  });

  it("publishes what is committed when the relay stops with a flush, instead of leaving it to the next replica", async () => {
    const relay = new OutboxRelay({ orm, redis, prefix, logger: silent });
    await relay.start();
    await eventually("the relay streaming", () => relay.stats().leader);
    const events = [orderPlaced(randomUUID()), orderPlaced(randomUUID())];
    await commitWithEvents(orm.em.fork(), async (_tx, emit) => events.forEach(emit));
    await relay.stop({ flushTimeoutMs: 2_000 });
    // (after those of the previous test, committed while no relay ran)
    const ids = (await redis.xrange(streamKey(prefix, "order"), "-", "+")).map(([, fields]) => fields[1]);
    expect(ids.slice(-2)).toEqual(events.map((e) => e.id));
    // Confirmed, and listed as published: the next relay publishes neither again.
    const [row] = await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from outbox o where ${PUBLISHED_AT_SQL} is null`);
    expect(Number(row!.n)).toBe(0);
  });
});
