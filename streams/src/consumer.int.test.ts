import type { EventEnvelope } from "@commerce/schema";
import { createEvent } from "./create-event";
import type { MikroORM } from "@mikro-orm/postgresql";
import type Redis from "ioredis";
import type { Handler, StreamConsumerOptions } from "./consumer";
import { DeadLetters } from "./dead-letters";
import { streamKey } from "./keys";
import { eventFields } from "./wire";
import { effects, eventually, openOrm, placed, recordEffect, redisClient, useStreamsSuite, xaddEvent } from "./testing/harness";

const suite = useStreamsSuite("consumer", { poolMax: 12 });
const extraOrms: MikroORM[] = [];
const extraRedis: Redis[] = [];

afterAll(async () => {
  await Promise.all(extraOrms.map((o) => o.close(true)));
  extraRedis.forEach((r) => r.disconnect());
});

const consumer = (options: Partial<StreamConsumerOptions> & { handler?: Handler } = {}) => suite.consumer({ blockMs: 200, ...options });

async function pendingCount(): Promise<number> {
  const [count] = (await suite.redis.xpending(streamKey(suite.prefix, "order"), "svc")) as [number];
  return count;
}

async function deadLetters() {
  return new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc");
}

describe("StreamConsumer", () => {
  it("applies events once, acknowledges them, and keeps stream order per correlationId", async () => {
    const events: EventEnvelope[] = [];
    for (let seq = 1; seq <= 30; seq += 1) for (const order of ["o1", "o2", "o3", "o4"]) events.push(placed(order, seq));
    for (const event of events) await xaddEvent(suite.redis, suite.prefix, event);
    // Random handler time would reorder an order's events if they ran in parallel.
    const base = recordEffect();
    await consumer({
      handler: async (event, ctx) => {
        await new Promise((r) => setTimeout(r, Math.random() * 4));
        await base(event, ctx);
      },
    }).start();

    await eventually("all effects", async () => (await effects(suite.orm)).length === events.length);
    await eventually("all acknowledged", async () => (await pendingCount()) === 0);
    const applied = await effects(suite.orm);
    for (const order of ["o1", "o2", "o3", "o4"]) {
      expect(applied.filter((e) => e.correlation_id === order).map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    expect(suite.consumers[0]!.stats()).toMatchObject({ processed: 120, duplicates: 0, failed: 0 });
  });

  it("applies a duplicated envelope (same event id twice on the stream) once", async () => {
    const event = placed("o-dup", 1);
    await xaddEvent(suite.redis, suite.prefix, event);
    await xaddEvent(suite.redis, suite.prefix, event);
    const c = consumer();
    await c.start();
    await eventually("both deliveries settled", () => c.stats().processed + c.stats().duplicates === 2);
    expect(await effects(suite.orm)).toHaveLength(1);
    expect(c.stats()).toMatchObject({ processed: 1, duplicates: 1 });
    expect(await pendingCount()).toBe(0);
  });

  it("after a crash between commit and ack, another consumer claims the entry and the effect stays single", async () => {
    // The "crashed" replica: its own pool and connection; its connection dies right after the handler,
    // so the commit happens and the XACK never does.
    const crashingRedis = redisClient();
    extraRedis.push(crashingRedis);
    const crashed = consumer({
      redis: crashingRedis,
      consumerName: "crashed",
      handler: async (event, ctx) => {
        await recordEffect("crashed")(event, ctx);
        crashingRedis.disconnect();
      },
    });
    await crashed.start();
    await xaddEvent(suite.redis, suite.prefix, placed("o-crash", 1));
    await eventually("the effect committed", async () => (await effects(suite.orm)).length === 1);
    expect(await pendingCount()).toBe(1);

    const survivor = consumer({ consumerName: "survivor", claimIdleMs: 300, claimIntervalMs: 100 });
    await survivor.start();
    await eventually("the survivor to settle the claimed entry", async () => (await pendingCount()) === 0);
    expect(survivor.stats()).toMatchObject({ processed: 0, duplicates: 1 });
    expect(await effects(suite.orm)).toHaveLength(1);
  });

  it("after a crash mid-handler, the transaction rolls back and the claimed retry applies the effect once", async () => {
    const crashOrm = await openOrm(suite.db.url, 2);
    extraOrms.push(crashOrm);
    const crashingRedis = redisClient();
    extraRedis.push(crashingRedis);
    let release!: () => void;
    const hang = new Promise<void>((resolve) => (release = resolve));
    let pid = 0;
    const crashed = consumer({
      orm: crashOrm,
      redis: crashingRedis,
      consumerName: "crashed",
      handler: async (event, ctx) => {
        await recordEffect("crashed")(event, ctx);
        [{ pid }] = await ctx.em.execute("select pg_backend_pid() as pid");
        await hang; // the process "dies" here, its effect written but not committed
      },
    });
    await crashed.start();
    await xaddEvent(suite.redis, suite.prefix, placed("o-mid", 1));
    await eventually("the handler to be mid-way", () => pid > 0);
    // The crash: the database connection goes away (rolling the transaction back) and so does Redis.
    await suite.orm.em.getConnection().execute("select pg_terminate_backend(?)", [pid]);
    crashingRedis.disconnect();
    expect(await effects(suite.orm)).toHaveLength(0);

    const survivor = consumer({ consumerName: "survivor", claimIdleMs: 300, claimIntervalMs: 100 });
    await survivor.start();
    await eventually("the survivor to apply it", async () => (await pendingCount()) === 0);
    const applied = await effects(suite.orm);
    expect(applied).toHaveLength(1);
    expect(applied[0]!.consumer).toBe("");
    release();
  });

  it("a replica stuck in a handler keeps its entry until maxHoldMs, then another replica applies it once", async () => {
    // The stuck replica is alive (it keeps reading and renewing) but its handler never returns, with its
    // transaction open and the event's processed mark written (and locked) in it.
    const stuckOrm = await openOrm(suite.db.url, 2);
    extraOrms.push(stuckOrm);
    let release!: () => void;
    const hang = new Promise<void>((resolve) => (release = resolve));
    let stuckSince = 0;
    const claims = { claimIdleMs: 300, statementTimeoutMs: 1_000 };
    const stuck = consumer({
      ...claims,
      // The stuck replica looks for idle entries far more often than the healthy one: it is the first to
      // see its own entry go idle, and must hand it over rather than take it back (each take-back counted
      // a delivery, until the healthy replica dead-lettered the event as a crash loop).
      claimIntervalMs: 50,
      orm: stuckOrm,
      consumerName: "stuck",
      maxHoldMs: 2_000,
      handler: async (event, ctx) => {
        await recordEffect("stuck")(event, ctx);
        stuckSince ||= Date.now();
        await hang;
      },
    });
    await stuck.start();
    await xaddEvent(suite.redis, suite.prefix, placed("o-stuck", 1));
    await eventually("the handler to be stuck", () => stuckSince > 0);

    let appliedAt = 0;
    const healthy = consumer({
      ...claims,
      claimIntervalMs: 400,
      consumerName: "healthy",
      handler: async (event, ctx) => {
        await recordEffect("healthy")(event, ctx);
        appliedAt = Date.now();
      },
    });
    await healthy.start();
    try {
      await eventually("the healthy replica to apply it", async () => (await effects(suite.orm)).length === 1, 15_000);
      // Renewed while held: claimable only maxHoldMs + claimIdleMs after the hold began.
      expect(appliedAt - stuckSince).toBeGreaterThanOrEqual(2_000);
      expect((await effects(suite.orm))[0]!.consumer).toBe("healthy");
      await eventually("the entry to be acknowledged", async () => (await pendingCount()) === 0);
      expect(await deadLetters()).toEqual([]);
    } finally {
      // The stuck handler wakes up: Postgres ended its transaction long ago, nothing of it commits. Also
      // on a failure above, or stopping the consumer would wait for it forever.
      release();
    }
    await eventually("the stuck replica to settle it", () => stuck.stats().inFlight === 0, 15_000);
    const applied = await effects(suite.orm);
    expect(applied.map((e) => e.consumer)).toEqual(["healthy"]);
    expect(healthy.stats()).toMatchObject({ processed: 1 });
    expect(stuck.stats()).toMatchObject({ processed: 0 });
  });

  it("retries a failing handler with backoff, then dead-letters it with the error and attempts; the stream keeps flowing", async () => {
    const attempts: number[] = [];
    const good = recordEffect();
    const c = consumer({
      maxDeliveries: 3,
      retryBaseMs: 40,
      handler: async (event, ctx) => {
        if (event.correlationId === "o-bad") {
          attempts.push(Date.now());
          throw new Error("wallet service exploded");
        }
        await good(event, ctx);
      },
    });
    await xaddEvent(suite.redis, suite.prefix, placed("o-bad", 1));
    await xaddEvent(suite.redis, suite.prefix, placed("o-good", 1));
    await c.start();

    await eventually("a dead letter", async () => (await deadLetters()).length === 1);
    const [letter] = await deadLetters();
    expect(letter).toMatchObject({ type: "order.placed", attempts: 3, group: "svc", stream: streamKey(suite.prefix, "order") });
    expect(letter!.error).toContain("wallet service exploded");
    expect(JSON.parse(letter!.envelope).correlationId).toBe("o-bad");
    expect(attempts).toHaveLength(3);
    // Backoff doubles (±20% jitter): ≥ 32 ms, then ≥ 64 ms.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(30);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(60);
    expect((await effects(suite.orm)).map((e) => e.correlation_id)).toEqual(["o-good"]);
    expect(c.stats()).toMatchObject({ failed: 3, deadLettered: 1, processed: 1 });
    await eventually("nothing pending", async () => (await pendingCount()) === 0);
  });

  it("dead-letters malformed entries at once and handles the next ones", async () => {
    const key = streamKey(suite.prefix, "order");
    await suite.redis.xadd(key, "*", "garbage", "yes");
    await suite.redis.xadd(key, "*", "envelope", "{not json");
    await suite.redis.xadd(key, "*", "envelope", JSON.stringify({ ...placed("o-x", 1), version: 99 }));
    await suite.redis.xadd(key, "*", "envelope", JSON.stringify({ ...placed("o-x", 1), payload: { orderId: "o-x" } }));
    await xaddEvent(suite.redis, suite.prefix, placed("o-next", 1));
    const c = consumer();
    await c.start();

    await eventually("the good event applied", async () => (await effects(suite.orm)).length === 1);
    await eventually("4 dead letters", async () => (await deadLetters()).length === 4);
    const errors = (await deadLetters()).map((l) => `${l.attempts} ${l.error}`);
    expect(errors[0]).toMatch(/no "envelope" field/);
    expect(errors[1]).toMatch(/JSON/);
    expect(errors[2]).toMatch(/unknown version 99/);
    expect(errors[3]).toMatch(/payload\.userId/);
    expect(c.stats().failed).toBe(0); // no handler ran for them: no retries
    await eventually("nothing pending", async () => (await pendingCount()) === 0);
  });

  it("acknowledges events it has no handler for", async () => {
    const c = consumer({ handlers: {} } as Partial<StreamConsumerOptions>);
    await xaddEvent(suite.redis, suite.prefix, placed("o-skip", 1));
    await c.start();
    await eventually("skipped", () => c.stats().skipped === 1);
    await eventually("nothing pending", async () => (await pendingCount()) === 0);
  });

  it("acknowledges entries of known types it has no handler for without parsing them; unknown types still dead-letter", async () => {
    const key = streamKey(suite.prefix, "order");
    // Known type, no handler here: acknowledged on the `type` field alone (the envelope is never parsed).
    for (let i = 0; i < 3; i += 1) await suite.redis.xadd(key, "*", "type", "order.shipped", "envelope", "{not json");
    await suite.redis.xadd(
      key,
      "*",
      "type",
      "order.no_such_type",
      "envelope",
      JSON.stringify({ ...placed("o-unknown", 1), type: "order.no_such_type" }),
    );
    await xaddEvent(suite.redis, suite.prefix, placed("o-handled", 1));
    const c = consumer();
    await c.start();

    await eventually("the handled event applied", async () => (await effects(suite.orm)).length === 1);
    await eventually("3 skipped", () => c.stats().skipped === 3);
    await eventually("1 dead letter", async () => (await deadLetters()).length === 1);
    expect((await deadLetters())[0]!.type).toBe("order.no_such_type");
    await eventually("nothing pending", async () => (await pendingCount()) === 0);
    expect(c.stats().deadLettered).toBe(1);
  });

  it("with two replicas of one group under load, applies every event exactly once", async () => {
    const otherOrm = await openOrm(suite.db.url, 12);
    extraOrms.push(otherOrm);
    const events: EventEnvelope[] = [];
    for (let seq = 1; seq <= 20; seq += 1) for (let o = 0; o < 100; o += 1) events.push(placed(`load-${o}`, seq));
    // A duplicate of every 10th event, to make the replicas race on the same event id.
    const pipeline = suite.redis.pipeline();
    const key = streamKey(suite.prefix, "order");
    events.forEach((event, i) => {
      const fields = ["id", event.id, "type", event.type, "envelope", JSON.stringify(event)];
      pipeline.xadd(key, "*", ...fields);
      if (i % 10 === 0) pipeline.xadd(key, "*", ...fields);
    });
    await pipeline.exec();

    const a = consumer({ consumerName: "a", handler: recordEffect("a") });
    const b = consumer({ consumerName: "b", orm: otherOrm, handler: recordEffect("b") });
    await Promise.all([a.start(), b.start()]);

    await eventually(
      "2,000 effects",
      async () => {
        const [row] = await suite.orm.em.getConnection().execute("select count(*)::int as n from effect");
        return row.n >= events.length && (await pendingCount()) === 0;
      },
      80_000,
    );
    const [row] = await suite.orm.em.getConnection().execute("select count(*)::int as n, count(distinct event_id)::int as d from effect");
    expect(row).toEqual({ n: 2000, d: 2000 });
    expect(a.stats().processed).toBeGreaterThan(0);
    expect(b.stats().processed).toBeGreaterThan(0);
    expect(a.stats().processed + b.stats().processed).toBe(2000);
    expect(a.stats().duplicates + b.stats().duplicates).toBe(200);
  }, 90_000); // seconds when the machine is idle; room for a loaded CI box
});

describe("order across streams", () => {
  it("takes the entries of one read in the order Redis added them, not stream by stream", async () => {
    const seen: string[] = [];
    const record: Handler = async (event) => void seen.push(event.type);
    const options: Partial<StreamConsumerOptions> = {
      streams: ["order", "product"],
      handlers: { "order.cancelled": record, "inventory.reserved": record },
    };
    const orderId = "order-x";
    const reserved = createEvent(
      "inventory.reserved",
      { orderId, userId: "user-1", total: { amount: 100, currency: "EUR" }, items: [{ productId: "product-1", quantity: 1 }] },
      { correlationId: orderId },
    );
    const cancelled = createEvent(
      "order.cancelled",
      { orderId, userId: "user-1", reason: "changed my mind", previousStatus: "PENDING", expired: false },
      { correlationId: orderId },
    );
    // The product stream's entry is older, but the consumer names the order stream first.
    const first = await suite.redis.xadd(streamKey(suite.prefix, "product"), "*", ...eventFields(reserved, JSON.stringify(reserved)));
    // Ids of two streams compare only across milliseconds (both sequences start at 0 in each millisecond).
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await suite.redis.xadd(streamKey(suite.prefix, "order"), "*", ...eventFields(cancelled, JSON.stringify(cancelled)));
    expect(Number(second!.split("-")[0])).toBeGreaterThan(Number(first!.split("-")[0]));
    // No consumer ran before: its group is created at the start of the streams, so its first read returns
    // both entries. (A consumer started and stopped first could still hold a blocking read that takes one.)
    await consumer(options).start();
    await eventually("both handled", () => seen.length === 2);
    expect(seen).toEqual(["inventory.reserved", "order.cancelled"]);
  });

  it("creates its group again from the start of the stream when it is gone (a fail-over lost it), applying nothing twice", async () => {
    const first = placed("o-lost-group", 1);
    await xaddEvent(suite.redis, suite.prefix, first);
    const c = consumer();
    await c.start();
    await eventually("the first event", async () => (await effects(suite.orm)).length === 1);
    // What a promoted replica that never received the group looks like: the group is gone, the stream is not.
    await suite.redis.xgroup("DESTROY", streamKey(suite.prefix, "order"), "svc");
    const second = placed("o-lost-group", 2);
    await xaddEvent(suite.redis, suite.prefix, second);
    await eventually("the event published while the group was gone", async () => (await effects(suite.orm)).length === 2);
    // The first event, delivered again from `0`, is a no-op.
    await eventually("the redelivery settled", () => c.stats().duplicates === 1);
    expect((await effects(suite.orm)).map((e) => e.seq)).toEqual([1, 2]);
    expect(await pendingCount()).toBe(0);
  });
});
