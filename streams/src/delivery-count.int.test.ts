/**
 * The delivery count bounds crash loops (an entry delivered more than `maxDeliveries` times is
 * dead-lettered), so it counts real deliveries only: the consumer's own bookkeeping (re-reading its
 * pending entries after a read error, claiming idle entries) must not raise it.
 */
import { StreamConsumer, type StreamConsumerOptions } from "./consumer";
import { DeadLetters } from "./dead-letters";
import { streamKey } from "./keys";
import { effects, eventually, placed, silentLogger, useStreamsSuite, xaddEvent } from "./testing/harness";

const suite = useStreamsSuite("delivery_count");

/** A consumer whose handler holds `order-slow` until `release()`, and records every event it applies. */
function slowConsumer(name: string, gate: Promise<void>, options: Partial<StreamConsumerOptions> = {}) {
  const c = new StreamConsumer({
    redis: suite.redis,
    orm: suite.orm,
    prefix: suite.prefix,
    service: "svc",
    consumerName: name,
    streams: ["order"],
    handlers: {
      "order.placed": async (event, { em }) => {
        if (event.correlationId === "order-slow") await gate;
        await em.execute("insert into effect (event_id, correlation_id, seq, consumer) values (?, ?, 1, ?)", [event.id, event.correlationId, name]);
      },
    },
    logger: silentLogger(),
    maxDeliveries: 3,
    ...options,
  });
  suite.consumers.push(c);
  return c;
}

async function deliveries(entryId: string): Promise<{ consumer: string; count: number }> {
  const [[, consumer, , count]] = (await suite.redis.xpending(streamKey(suite.prefix, "order"), "svc", entryId, entryId, 1)) as [
    string,
    string,
    number,
    number,
  ][];
  return { consumer, count };
}

test("read errors while an entry is in flight do not count deliveries of it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await slowConsumer("c-1", gate, { blockMs: 5_000, claimIdleMs: 120_000 }).start();
  const entryId = await xaddEvent(suite.redis, suite.prefix, placed("order-slow", 1));
  await eventually("the entry in flight", async () => (await suite.redis.xpending(streamKey(suite.prefix, "order"), "svc"))[0] === 1);

  // Four dropped read connections, each followed by a re-read of the consumer's pending entries.
  for (let i = 0; i < 4; i += 1) {
    const id = await eventually("the read connection blocked in XREADGROUP", async () => {
      const line = String(await suite.redis.client("LIST"))
        .split("\n")
        .find((l) => l.includes("name=svc:c-1:read") && l.includes("cmd=xreadgroup"));
      return line ? /id=(\d+)/.exec(line)![1] : null;
    });
    await suite.redis.client("KILL", "ID", id!);
  }
  await eventually("the read loop back", async () => String(await suite.redis.client("LIST")).includes("name=svc:c-1:read"));
  expect(await deliveries(entryId)).toEqual({ consumer: "c-1", count: 1 });

  release();
  await eventually("the effect", async () => (await effects(suite.orm)).length === 1);
  expect(await new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc")).toHaveLength(0);
});

test("an entry held longer than claimIdleMs by a live consumer is neither taken over nor counted again", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const timing = { claimIdleMs: 300, claimIntervalMs: 100, blockMs: 200 };
  const holder = slowConsumer("holder", gate, timing);
  await holder.start();
  const entryId = await xaddEvent(suite.redis, suite.prefix, placed("order-slow", 1));
  await eventually("the entry held", async () => (await suite.redis.xpending(streamKey(suite.prefix, "order"), "svc"))[0] === 1);
  const other = slowConsumer("other", gate, timing);
  await other.start();

  await new Promise((r) => setTimeout(r, 1_500)); // five times claimIdleMs
  expect(await deliveries(entryId)).toEqual({ consumer: "holder", count: 1 });

  release();
  await eventually("the effect", async () => (await effects(suite.orm)).length === 1);
  const [effect] = await effects(suite.orm);
  expect(effect!.consumer).toBe("holder");
  expect(other.stats()).toMatchObject({ processed: 0, duplicates: 0 });
});
