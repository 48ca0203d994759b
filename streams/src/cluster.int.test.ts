/**
 * The event backbone on a real Redis Cluster (3 masters, a replica each): streams of different
 * producers on different masters, dead letters and replay, recovery of pending entries, the relay's
 * WAIT, and fail-overs while events flow. One cluster for the file: each start costs six processes.
 */
import type { EventEnvelope, Producer } from "@commerce/schema";
import { startTestRedisCluster, type RedisClusterServer } from "@commerce/testing";
import type { Cluster } from "ioredis";
import type { Handler, Handlers, StreamConsumer, StreamConsumerOptions } from "./consumer";
import { createEvent } from "./create-event";
import { DeadLetters, writeDeadLetter } from "./dead-letters";
import { dlqIndexKey, dlqKey, replayKey, streamKey } from "./keys";
import { dropSlot } from "./catch-up";
import { createRedis, slotOf, type RedisClient } from "./redis-client";
import { slotNameFor } from "./slot";
import { StreamTrimmer } from "./trimmer";
import { effects, eventually, placed, produce, seqOf, useStreamsSuite } from "./testing/harness";
import { eventFields, type RawEntry } from "./wire";

let cluster: RedisClusterServer;
const suite = useStreamsSuite<RedisClient>("cluster", {
  poolMax: 12,
  redis: async () => {
    cluster = await startTestRedisCluster();
    return createRedis(cluster.url, { maxRetriesPerRequest: null });
  },
  timeoutMs: 90_000,
});

beforeEach(async () => {
  // A relay of an earlier test may have left transactions unconfirmed: they must not reach this test's streams.
  await dropSlot({ connectionString: suite.db.adminUrl }, slotNameFor(suite.db.database));
});

afterAll(async () => {
  await cluster?.stop();
});

/** One event of each producer's stream: `order.placed`, `inventory.committed` (product), `payment.refunded`. */
function eventOn(producer: "order" | "product" | "payment", orderId: string, seq = 1): EventEnvelope {
  if (producer === "order") return placed(orderId, seq);
  if (producer === "product") return createEvent("inventory.committed", { orderId }, { correlationId: orderId });
  return createEvent(
    "payment.refunded",
    { orderId, userId: "user-1", paymentId: `pay-${orderId}`, amount: { amount: 100, currency: "EUR" } },
    { correlationId: orderId },
  );
}

const STREAMS = ["order", "product", "payment"] as const satisfies readonly Producer[];

/** Records one `effect` row per application, whatever the type. */
const record =
  (consumer = ""): Handler =>
  async (event, { em }) => {
    const seq = event.type === "order.placed" ? seqOf(event) : 0;
    await em.execute("insert into effect (event_id, correlation_id, seq, consumer) values (?, ?, ?, ?)", [
      event.id,
      event.correlationId,
      seq,
      consumer,
    ]);
  };

function consumer(options: Partial<StreamConsumerOptions> = {}): StreamConsumer {
  const handler = record(options.consumerName ?? `c-${suite.consumers.length}`);
  const handlers: Handlers = { "order.placed": handler, "inventory.committed": handler, "payment.refunded": handler };
  return suite.consumer({ streams: [...STREAMS], handlers, blockMs: 300, ...options });
}

async function xadd(producer: Producer, event: EventEnvelope): Promise<string> {
  return (await suite.redis.xadd(streamKey(suite.prefix, producer), "*", ...eventFields(event, JSON.stringify(event))))!;
}

/** The port of the master serving `key`, from the client's slot map refreshed now. */
async function masterOf(key: string): Promise<number> {
  const client = suite.redis as Cluster;
  await new Promise<void>((resolve, reject) => client.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
  const node = client.slots[slotOf(key)]?.[0];
  if (!node) throw new Error(`no master serves ${key}`);
  return Number(node.split(":").pop());
}

async function pending(key: string): Promise<number> {
  return Number(((await suite.redis.xpending(key, "svc")) as [number])[0]);
}

/** Effects are single: one row per event id. */
async function expectEachOnce(events: EventEnvelope[]): Promise<void> {
  const rows = await effects(suite.orm);
  expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
}

describe("the event backbone on a Redis Cluster", () => {
  it("spreads the producers' streams over the masters; one group reads them all, each event once", async () => {
    const masters = new Set(await Promise.all(STREAMS.map((producer) => masterOf(streamKey(suite.prefix, producer)))));
    expect(masters.size).toBe(3);
    // A group's dead letters, their index and its replay stream share a slot (replay is one MULTI).
    expect(new Set([dlqKey(suite.prefix, "svc"), dlqIndexKey(suite.prefix, "svc"), replayKey(suite.prefix, "svc")].map(slotOf)).size).toBe(1);

    const events: EventEnvelope[] = [];
    for (let i = 0; i < 20; i += 1) for (const producer of STREAMS) events.push(eventOn(producer, `o-${producer}-${i}`, 1));
    const first = events.slice(0, 30);
    for (const event of first) await xadd(streamOf(event), event);
    await consumer().start();
    const slow = consumer({ blockMs: 10_000 });
    await slow.start();
    // Published while both replicas block on three masters.
    for (const event of events.slice(30)) await xadd(streamOf(event), event);

    await eventually("every event applied", async () => (await effects(suite.orm)).length === events.length);
    await expectEachOnce(events);
    for (const producer of STREAMS)
      await eventually(`${producer} acknowledged`, async () => (await pending(streamKey(suite.prefix, producer))) === 0);
    // Each blocked read is released on the node it blocks on, not after its 10 s.
    const stopping = Date.now();
    await slow.stop();
    expect(Date.now() - stopping).toBeLessThan(2_000);
    // Everything is acknowledged: the trimmer may cut every stream down to nothing.
    expect(await new StreamTrimmer({ redis: suite.redis, prefix: suite.prefix, producers: [...STREAMS] }).trimAll()).toEqual({
      order: 20,
      product: 20,
      payment: 20,
    });
  }, 30_000);

  it("dead-letters once per entry without a cross-slot transaction, and replays through the group's replay stream", async () => {
    let broken = true;
    const base = record();
    const c = consumer({
      maxDeliveries: 2,
      retryBaseMs: 10,
      handlers: {
        "order.placed": async (event, ctx) => {
          if (broken) throw new Error("handler broken");
          await base(event, ctx);
        },
      },
    });
    await c.start();
    const event = eventOn("order", "o-poison");
    const entryId = await xadd("order", event);
    await eventually("the dead letter", async () => (await suite.redis.xlen(dlqKey(suite.prefix, "svc"))) === 1);
    await eventually("the entry acknowledged", async () => (await pending(streamKey(suite.prefix, "order"))) === 0);

    // A redelivery after a crash between the dead-letter write and the XACK finds the letter written.
    const letters = new DeadLetters({ redis: suite.redis, prefix: suite.prefix });
    const [letter] = await letters.list("svc");
    expect(letter).toMatchObject({ stream: streamKey(suite.prefix, "order"), entryId, attempts: 2, type: "order.placed" });
    const again = await writeDeadLetter(
      suite.redis,
      suite.prefix,
      {
        stream: streamKey(suite.prefix, "order"),
        entryId,
        group: "svc",
        consumer: "c-x",
        type: "order.placed",
        error: "again",
        attempts: 3,
        envelope: "{}",
      },
      { replicaAcks: 1, replicaAckTimeoutMs: 1_000 },
    );
    expect(again).toBe(letter!.id);
    expect(await suite.redis.xlen(dlqKey(suite.prefix, "svc"))).toBe(1);

    broken = false;
    expect(await letters.replay("svc", letter!.id)).toBe(true);
    await eventually("the replayed event applied", async () => (await effects(suite.orm)).length === 1);
    await expectEachOnce([event]);
    await eventually("the replay stream emptied", async () => (await suite.redis.xlen(replayKey(suite.prefix, "svc"))) === 0);
    expect(await suite.redis.xlen(dlqKey(suite.prefix, "svc"))).toBe(0);
    expect(await suite.redis.hlen(dlqIndexKey(suite.prefix, "svc"))).toBe(0);
  }, 30_000);

  it("takes back its own backlog at start and claims what a dead consumer left pending, on every master", async () => {
    const events = STREAMS.flatMap((producer) => [0, 1, 2].map((i) => eventOn(producer, `o-${producer}-${i}`)));
    for (const producer of STREAMS) await suite.redis.xgroup("CREATE", streamKey(suite.prefix, producer), "svc", "0", "MKSTREAM");
    for (const event of events) await xadd(streamOf(event), event);
    // Two consumers read everything and die before acknowledging: `c-0` (restarted below) took the order
    // stream, `gone` (never seen again) the product and payment streams.
    const read = (name: string, producer: Producer) =>
      suite.redis.xreadgroup("GROUP", "svc", name, "COUNT", 10, "STREAMS", streamKey(suite.prefix, producer), ">");
    await read("c-0", "order");
    await read("gone", "product");
    await read("gone", "payment");
    for (const producer of STREAMS) expect(await pending(streamKey(suite.prefix, producer))).toBe(3);

    await consumer({ consumerName: "c-0", claimIdleMs: 500, claimIntervalMs: 200 }).start();
    await eventually("every pending entry applied", async () => (await effects(suite.orm)).length === events.length, 15_000);
    await expectEachOnce(events);
    for (const producer of STREAMS)
      await eventually(`${producer} acknowledged`, async () => (await pending(streamKey(suite.prefix, producer))) === 0);
  }, 30_000);

  it("relays with WAIT: while a stream's master has no replica nothing is confirmed; once it is back everything is published", async () => {
    const relay = suite.relay({ maxBackoffMs: 300, replicaAckTimeoutMs: 300 });
    await relay.start();
    const before = [eventOn("order", "o-1"), eventOn("product", "o-1"), eventOn("payment", "o-1")];
    const during = [eventOn("order", "o-2")];
    await produce(suite.orm, before);
    await eventually("published", async () => (await streamIds("order")).length === 1 && (await streamIds("payment")).length === 1);
    await eventually("confirmed", async () => relay.stats().published === 3);

    const master = await masterOf(streamKey(suite.prefix, "order"));
    const [replica] = (await cluster.topology()).find((group) => group.master === master)!.replicas;
    cluster.kill(replica!);
    try {
      const failuresBefore = relay.stats().failures;
      await produce(suite.orm, during);
      await eventually("batches failed for want of a replica", async () => relay.stats().failures > failuresBefore + 1);
      // XADDs no replica acknowledged count as not published: not counted, not confirmed.
      expect(relay.stats().published).toBe(3);
    } finally {
      await cluster.restart(replica!);
      await cluster.waitHealthy(30_000);
    }
    await eventually("published once the replica is back", async () => relay.stats().published === 4, 20_000);
    // The XADD may have landed before its WAIT failed: then the event is on the stream twice (consumers deduplicate).
    expect(new Set(await streamIds("order"))).toEqual(new Set([before[0]!.id, during[0]!.id]));
  }, 60_000);

  it("fails over (CLUSTER FAILOVER, then kill -9 of a master) while events flow: every event applied exactly once", async () => {
    const relay = suite.relay({ maxBackoffMs: 300, replicaAckTimeoutMs: 500 });
    await relay.start();
    for (const name of ["r-1", "r-2"]) await consumer({ consumerName: name, claimIdleMs: 2_000, claimIntervalMs: 500 }).start();

    const produced: EventEnvelope[] = [];
    let flowing = true;
    const flow = (async () => {
      for (let i = 0; flowing; i += 1) {
        const batch = STREAMS.map((producer) => eventOn(producer, `o-${i % 7}`, i + 1));
        await produce(suite.orm, batch);
        produced.push(...batch);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    const applied = (n: number) => eventually(`${n} events applied`, async () => (await effects(suite.orm)).length >= n, 30_000);

    await applied(30);
    await cluster.failover(await masterOf(streamKey(suite.prefix, "order")));
    await applied(produced.length + 30);
    const victim = await masterOf(streamKey(suite.prefix, "product"));
    cluster.kill(victim);
    await cluster.waitHealthy(30_000);
    // Its replica took over alone: nothing is confirmed on its streams until a replica is back.
    await cluster.restart(victim);
    await cluster.waitHealthy(30_000);
    await applied(produced.length + 30);
    flowing = false;
    await flow;

    await eventually("every produced event applied", async () => (await effects(suite.orm)).length >= produced.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate applied late would show now
    await expectEachOnce(produced);
    const [{ count }] = await suite.orm.em
      .getConnection()
      .execute<{ count: string }[]>("select count(*) from processed_event where consumer_group = 'svc'");
    expect(Number(count)).toBe(produced.length);
  }, 120_000);
});

function streamOf(event: EventEnvelope): Producer {
  return event.type === "order.placed" ? "order" : event.type === "inventory.committed" ? "product" : "payment";
}

async function streamIds(producer: Producer): Promise<string[]> {
  const entries = (await (suite.redis as Cluster).xrange(streamKey(suite.prefix, producer), "-", "+")) as RawEntry[];
  return entries.map(([, fields]) => fields![fields!.indexOf("id") + 1]!);
}
