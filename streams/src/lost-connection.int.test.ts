/**
 * A consumer whose blocking connection drops during an XREADGROUP (ioredis may drop the command
 * without settling it) reads on. The connection is cut with CLIENT KILL, which does to one connection
 * what a Redis restart does to all of them.
 */
import { effects, eventually, placed, useStreamsSuite, xaddEvent } from "./testing/harness";

const suite = useStreamsSuite("lost_conn", { poolMax: 4 });

test("a read cut off by a dropped connection is retried: later events are still delivered", async () => {
  const consumer = suite.consumer({
    blockMs: 5_000, // the read is blocked in Redis when the connection goes
    claimIdleMs: 120_000, // crash recovery must not be what rescues the events
  });
  await consumer.start();
  const first = placed("order-1", 1);
  await xaddEvent(suite.redis, suite.prefix, first);
  await eventually("the first event", async () => (await effects(suite.orm)).length === 1);

  // The consumer's reading connection, by the name it gives itself in CLIENT LIST.
  const blockingId = await eventually("the consumer to block in XREADGROUP", async () => {
    const line = String(await suite.redis.client("LIST"))
      .split("\n")
      .find((client) => client.includes(" name=svc:c-0:read") && client.includes("cmd=xreadgroup"));
    return line ? /\bid=(\d+)/.exec(line)![1]! : null;
  });
  await suite.redis.client("KILL", "ID", blockingId);

  const later = [placed("order-2", 1), placed("order-3", 1)];
  for (const event of later) await xaddEvent(suite.redis, suite.prefix, event);
  const rows = await eventually(
    "the events published after the connection dropped",
    async () => {
      const all = await effects(suite.orm);
      return all.length === 3 ? all : null;
    },
    15_000,
  );
  expect(rows.map((r) => r.event_id).sort()).toEqual([first, ...later].map((e) => e.id).sort());
});
