import { StreamConsumer } from "./consumer";
import { DeadLetters } from "./dead-letters";
import { replayKey, streamKey } from "./keys";
import { effects, eventually, placed, seqOf, silentLogger, useStreamsSuite, xaddEvent } from "./testing/harness";

const suite = useStreamsSuite("dlq");

describe("DeadLetters", () => {
  it("lists, shows, replays to the failed group only, and discards", async () => {
    let broken = true;
    const consumerOf = (service: string, fail: boolean) =>
      new StreamConsumer({
        redis: suite.redis,
        orm: suite.orm,
        prefix: suite.prefix,
        service,
        consumerName: `${service}-1`,
        streams: ["order"],
        logger: silentLogger(),
        maxDeliveries: 1,
        blockMs: 200,
        handlers: {
          "order.placed": async (event, { em }) => {
            if (fail && broken) throw new Error("template missing");
            await em.execute("insert into effect (event_id, correlation_id, seq, consumer) values (?, ?, ?, ?)", [
              event.id,
              event.correlationId,
              seqOf(event),
              service,
            ]);
          },
        },
      });
    const failing = consumerOf("notification", true);
    const healthy = consumerOf("payment", false);
    await failing.start();
    await healthy.start();
    const dlq = new DeadLetters({ redis: suite.redis, prefix: suite.prefix });
    try {
      const first = placed("o-1", 1);
      const second = placed("o-2", 1);
      await xaddEvent(suite.redis, suite.prefix, first);
      await xaddEvent(suite.redis, suite.prefix, second);
      await eventually("two dead letters", async () => (await dlq.list("notification")).length === 2);
      await eventually("payment applied both", async () => (await effects(suite.orm)).length === 2);

      // The two orders are handled in parallel: their dead letters may be in either order.
      const letters = await dlq.list("notification");
      const one = letters.find((l) => JSON.parse(l.envelope).id === first.id);
      const two = letters.find((l) => l !== one);
      expect(await dlq.show("notification", one!.id)).toEqual(one);
      expect(one).toMatchObject({ group: "notification", entryId: expect.any(String), attempts: 1, error: "Error: template missing" });
      expect(await dlq.list("notification", { count: 1, after: letters[0]!.id })).toEqual([letters[1]]);

      broken = false; // the operator fixed the cause
      expect(await dlq.replay("notification", one!.id)).toBe(true);
      await eventually("the replayed event applied", async () =>
        (await effects(suite.orm)).some((e) => e.consumer === "notification" && e.event_id === first.id),
      );
      expect(await dlq.discard("notification", two!.id)).toBe(true);
      expect(await dlq.list("notification")).toEqual([]);
      expect(await dlq.show("notification", two!.id)).toBeNull();
      expect(await dlq.replay("notification", two!.id)).toBe(false);

      // Only the failed group saw the replay: payment applied each event once, nothing new on the origin stream.
      const applied = await effects(suite.orm);
      expect(applied.filter((e) => e.consumer === "payment")).toHaveLength(2);
      expect(await suite.redis.xlen(streamKey(suite.prefix, "order"))).toBe(2);
      await eventually("the replay stream emptied", async () => (await suite.redis.xlen(replayKey(suite.prefix, "notification"))) === 0);
    } finally {
      await failing.stop();
      await healthy.stop();
    }
  });
});
