import { trace } from "@opentelemetry/api";
import type { Handler, StreamConsumerOptions } from "./consumer";
import { createEvent } from "./create-event";
import { DeadLetters } from "./dead-letters";
import { GroupCommit, type GroupItem, type GroupOutcome } from "./group-commit";
import { streamKey } from "./keys";
import { effects, eventually, placed, recordEffect, silentLogger, useStreamsSuite, xaddEvent } from "./testing/harness";

/**
 * Group commit (group-commit.ts): events ready at the same moment share one transaction, and a failure
 * in that transaction costs the other events nothing but a second try alone.
 */

const suite = useStreamsSuite("group_commit", {
  setup: (orm) =>
    orm.em
      .getConnection()
      .execute("create table lockable (id text primary key); insert into lockable values ('a'), ('b')")
      .then(() => undefined),
});

const recordEffectOnce = recordEffect();

const consumer = (options: Partial<StreamConsumerOptions> & { handler?: Handler } = {}) =>
  suite.consumer({ handler: recordEffectOnce, blockMs: 200, concurrency: 64, ...options });

/** Entries of 40 orders, 3 events each, on the stream before the consumer starts: ready at once. */
async function backlog(orders = 40, perOrder = 3) {
  const events = [];
  for (let seq = 1; seq <= perOrder; seq += 1) for (let o = 0; o < orders; o += 1) events.push(placed(`o${o}`, seq));
  for (const event of events) await xaddEvent(suite.redis, suite.prefix, event);
  return events;
}

async function pendingCount(): Promise<number> {
  const [count] = (await suite.redis.xpending(streamKey(suite.prefix, "order"), "svc")) as [number];
  return count;
}

describe("group commit", () => {
  it("applies a backlog in far fewer transactions than events, each effect once and in order per order", async () => {
    const events = await backlog();
    const c = consumer();
    await c.start();
    await eventually("every effect", async () => (await effects(suite.orm)).length === events.length);
    await eventually("every entry acknowledged", async () => (await pendingCount()) === 0);

    const { shared, processed } = c.stats();
    expect(processed).toBe(events.length);
    expect(shared.events).toBe(events.length);
    expect(shared.rolledBack).toBe(0);
    // 40 lanes are ready at once: at least a few events per transaction (one each without group commit).
    expect(shared.transactions).toBeLessThanOrEqual(events.length / 4);
    const applied = await effects(suite.orm);
    for (let o = 0; o < 40; o += 1) {
      expect(applied.filter((e) => e.correlation_id === `o${o}`).map((e) => e.seq)).toEqual([1, 2, 3]);
    }
    const [{ marks }] = await suite.orm.em
      .getConnection()
      .execute<{ marks: string }[]>("select count(*)::int as marks from processed_event where consumer_group = 'svc'");
    expect(Number(marks)).toBe(events.length);
  });

  it("with maxBatch 1, every event has a transaction of its own", async () => {
    const events = await backlog(10, 1);
    const c = consumer({ maxBatch: 1 });
    await c.start();
    // Counted once committed and acknowledged: a commit is visible a moment before its count.
    await eventually("every event processed", () => c.stats().processed === events.length);
    expect(await effects(suite.orm)).toHaveLength(events.length);
    expect(c.stats().shared.transactions).toBe(0);
  });

  it("one failing handler rolls its transaction back; its neighbours are applied once alone, it alone is retried and dead-lettered", async () => {
    const events = await backlog(20, 1);
    const bad = events[7]!;
    const calls = new Map<string, number>();
    const c = consumer({
      maxDeliveries: 3,
      retryBaseMs: 20,
      handler: async (event, ctx) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
        if (event.id === bad.id) throw new Error("the ledger refused it");
        await recordEffectOnce(event, ctx);
      },
    });
    await c.start();

    await eventually("the dead letter", async () => (await new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc")).length === 1);
    await eventually("every other effect", async () => (await effects(suite.orm)).length === events.length - 1);
    await eventually("nothing pending", async () => (await pendingCount()) === 0);
    const [letter] = await new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc");
    expect(letter).toMatchObject({ attempts: 3 });
    expect(letter!.error).toContain("the ledger refused it");
    // The failing handler ran once per counted attempt: the shared try was its first.
    expect(calls.get(bad.id)).toBe(3);
    expect(c.stats()).toMatchObject({ processed: events.length - 1, failed: 3, deadLettered: 1 });
    expect(c.stats().shared.rolledBack).toBeGreaterThanOrEqual(1);
    const applied = await effects(suite.orm);
    expect(new Set(applied.map((e) => e.event_id)).size).toBe(events.length - 1);
    expect(applied.map((e) => e.event_id)).not.toContain(bad.id);
  });

  it("an event already applied is a duplicate inside a shared transaction; the others still apply", async () => {
    const events = await backlog(10, 1);
    const first = consumer({ consumerName: "first" });
    await first.start();
    await eventually("applied", async () => (await effects(suite.orm)).length === 10);
    await first.stop();
    // The same ten envelopes again (a relay that re-published them), plus five new ones, all ready at once.
    const fresh = Array.from({ length: 5 }, (_, i) => placed(`new${i}`, 1));
    for (const event of [...events, ...fresh]) await xaddEvent(suite.redis, suite.prefix, event);
    const second = consumer({ consumerName: "second" });
    await second.start();
    await eventually("settled", () => second.stats().processed + second.stats().duplicates === 15);
    expect(second.stats()).toMatchObject({ processed: 5, duplicates: 10 });
    expect(await effects(suite.orm)).toHaveLength(15);
  });

  it("events emitted by handlers of one shared transaction reach the outbox, each with its cause", async () => {
    await backlog(12, 1);
    const c = consumer({
      handler: async (event, ctx) => {
        await recordEffectOnce(event, ctx);
        ctx.emit(
          createEvent(
            "order.cancelled",
            { orderId: event.correlationId, userId: "u", reason: `after ${event.id}`, previousStatus: "PENDING", expired: false },
            { correlationId: event.correlationId, causation: event },
          ),
        );
      },
    });
    await c.start();
    await eventually("every effect", async () => (await effects(suite.orm)).length === 12);
    const rows = await suite.orm.em
      .getConnection()
      .execute<{ correlation_id: string; payload: { causationId: string } }[]>("select correlation_id, payload from outbox order by id");
    expect(rows).toHaveLength(12);
    const applied = await effects(suite.orm);
    const byOrder = new Map(applied.map((e) => [e.correlation_id, e.event_id]));
    for (const row of rows) expect(row.payload.causationId).toBe(byOrder.get(row.correlation_id));
    expect(c.stats().shared.transactions).toBeLessThan(12);
  });

  it("tells each handler's EntityManager of the shared commit (as em.transactional does), and not of a rolled-back one", async () => {
    await backlog(10, 1);
    const committed: string[] = [];
    const rolledBack: string[] = [];
    const globalSubscribers = suite.orm.em.getEventManager().getSubscribers().size;
    let failOnce = true;
    const c = consumer({
      retryBaseMs: 10,
      handler: async (event, ctx) => {
        ctx.em.getEventManager().registerSubscriber({
          afterTransactionCommit: (args) => void (args.em === ctx.em && committed.push(event.id)),
          afterTransactionRollback: () => void rolledBack.push(event.id),
        });
        await recordEffectOnce(event, ctx);
        if (event.correlationId === "o3" && failOnce) {
          failOnce = false;
          throw new Error("once");
        }
      },
    });
    await c.start();
    await eventually("every effect", async () => (await effects(suite.orm)).length === 10);
    await eventually("every commit heard", () => committed.length === 10);
    expect(new Set(committed).size).toBe(10);
    // The first shared transaction rolled back: its handlers heard that, not a commit.
    expect(rolledBack.length).toBeGreaterThanOrEqual(1);
    expect(c.stats().shared.rolledBack).toBe(1);
    // Subscribers went with the handlers' EntityManagers: none was added to the ORM's own.
    expect(suite.orm.em.getEventManager().getSubscribers().size).toBe(globalSubscribers);
  });

  it("two shared transactions that lock the same rows in opposite orders give up within lock_timeout, not after a deadlock check, and blame nobody", async () => {
    // Replica 1's batch locks a then b; replica 2's locks b then a. Both take their first lock before
    // either asks for its second: a deadlock, which Postgres would break only after deadlock_timeout (1 s).
    let arrived = 0;
    let release!: () => void;
    const bothHoldFirst = new Promise<void>((resolve) => (release = resolve));
    const lock =
      (row: string, waitForOther: boolean): GroupItem["handler"] =>
      async (_event, { em }) => {
        await em.execute("select id from lockable where id = ? for update", [row]);
        if (waitForOther) {
          if (++arrived === 2) release();
          await bothHoldFirst;
        }
      };
    const item = (order: string, handler: GroupItem["handler"]): GroupItem => ({
      event: placed(order, 1) as never,
      key: "k",
      logger: silentLogger(),
      handler,
    });
    const replica = () => new GroupCommit({ orm: suite.orm, group: "svc", tracer: trace.getTracer("test"), lockTimeoutMs: 100 });
    const [one, two] = [replica(), replica()];
    const started = Date.now();
    const outcomes: GroupOutcome[] = await Promise.all([
      one.apply(item("x1", lock("a", true))),
      one.apply(item("x2", lock("b", false))),
      two.apply(item("y1", lock("b", true))),
      two.apply(item("y2", lock("a", false))),
    ]);
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(900);
    // Nobody's handler is to blame: no event used up an attempt.
    expect(outcomes.map((o) => o.kind)).not.toContain("failed");
    const lost = outcomes.filter((o) => o.kind === "retry");
    expect(lost.length).toBeGreaterThanOrEqual(2);
    expect(one.stats().contended + two.stats().contended).toBeGreaterThanOrEqual(1);
    // What gave up left nothing behind: only the processed marks of applied events exist.
    const applied = outcomes.filter((o) => o.kind === "applied").length;
    const [{ n }] = await suite.orm.em
      .getConnection()
      .execute<{ n: number }[]>("select count(*)::int as n from processed_event where consumer_group = 'svc'");
    expect(n).toBe(applied);
  });

  it("a subscriber that throws after the commit changes nothing: the batch is applied, the others still hear it", async () => {
    const events = await backlog(6, 1);
    const heard: string[] = [];
    const globalCommits = { n: 0 };
    const global = { afterTransactionCommit: () => void (globalCommits.n += 1) };
    suite.orm.em.getEventManager().registerSubscriber(global);
    try {
      const c = consumer({
        handler: async (event, ctx) => {
          ctx.em.getEventManager().registerSubscriber({
            afterTransactionCommit: () => {
              if (event.correlationId === "o2") throw new Error("metrics exploded");
              heard.push(event.id);
            },
          });
          await recordEffectOnce(event, ctx);
        },
      });
      await c.start();
      await eventually("every event processed", () => c.stats().processed === events.length);
      expect(c.stats()).toMatchObject({ duplicates: 0, failed: 0 });
      expect(c.stats().shared.rolledBack).toBe(0);
      expect(heard).toHaveLength(events.length - 1);
      // The ORM's own subscribers hear each event's commit once, as with a transaction per event.
      expect(globalCommits.n).toBe(events.length);
    } finally {
      (suite.orm.em.getEventManager().getSubscribers() as Set<unknown>).delete(global);
    }
  });

  it("applies an event whose id is spelled in upper case (Postgres answers in lower case)", async () => {
    const event = placed("o-upper", 1);
    const shouting = { ...event, id: event.id.toUpperCase() };
    await xaddEvent(suite.redis, suite.prefix, shouting);
    await xaddEvent(suite.redis, suite.prefix, placed("o-next", 1));
    const c = consumer();
    await c.start();
    await eventually("both processed", () => c.stats().processed === 2);
    const applied = await effects(suite.orm);
    expect(applied.map((e) => e.correlation_id).sort()).toEqual(["o-next", "o-upper"]);
    expect(applied.find((e) => e.correlation_id === "o-upper")!.event_id).toBe(event.id);
  });

  it("a handler that swallows a failed statement cannot get its batch acknowledged as applied", async () => {
    const events = await backlog(5, 1);
    const c = consumer({
      maxDeliveries: 2,
      retryBaseMs: 10,
      handler: async (event, ctx) => {
        if (event.correlationId === "o1") {
          // Caught, but the transaction is aborted: Postgres would answer COMMIT with a silent ROLLBACK.
          await ctx.em.execute("select * from no_such_table").catch(() => undefined);
          return;
        }
        await recordEffectOnce(event, ctx);
      },
    });
    await c.start();
    await eventually(
      "the swallowed one dead-lettered",
      async () => (await new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc")).length === 1,
    );
    await eventually("the others applied", async () => (await effects(suite.orm)).length === events.length - 1);
    expect(c.stats().processed).toBe(events.length - 1);
    const [letter] = await new DeadLetters({ redis: suite.redis, prefix: suite.prefix }).list("svc");
    expect(JSON.parse(letter!.envelope).correlationId).toBe("o1");
  });

  it("never reports a batch applied when Postgres answered its COMMIT with a rollback (a handler swallowed a failed statement)", async () => {
    const gc = new GroupCommit({ orm: suite.orm, group: "svc", tracer: trace.getTracer("test") });
    const outcome = await gc.apply({
      event: placed("o-swallowed", 1) as never,
      key: "k",
      logger: silentLogger(),
      handler: async (event, ctx) => {
        await recordEffectOnce(event as never, ctx as never);
        await ctx.em.execute("select * from no_such_table").catch(() => undefined);
      },
    });
    expect(outcome).toMatchObject({ kind: "retry", error: expect.objectContaining({ message: expect.stringMatching(/ROLLBACK/) }) });
    expect(await effects(suite.orm)).toEqual([]);
    expect(gc.stats()).toMatchObject({ transactions: 1, rolledBack: 1 });
  });

  it("abandons a shared transaction stuck on a handler that never returns: the others go alone, the queue moves on, nothing commits", async () => {
    const gc = new GroupCommit({ orm: suite.orm, group: "svc", tracer: trace.getTracer("test"), transactionTimeoutMs: 400, statementTimeoutMs: 300 });
    const item = (order: string, handler: GroupItem["handler"]): GroupItem => ({
      event: placed(order, 1) as never,
      key: "k",
      logger: silentLogger(),
      handler,
    });
    const stuck = item("o-stuck", async (event, ctx) => {
      await recordEffectOnce(event as never, ctx as never);
      await new Promise(() => undefined); // never settles
    });
    const innocent = item("o-innocent", (event, ctx) => recordEffectOnce(event as never, ctx as never));
    const started = Date.now();
    const outcomes = await Promise.all([gc.apply(stuck), gc.apply(innocent)]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcomes.map((o) => o.kind)).toEqual(["retry", "retry"]);
    // The queue is not stuck behind it: the next transaction runs and commits.
    const next = await gc.apply(item("o-next", (event, ctx) => recordEffectOnce(event as never, ctx as never)));
    expect(next.kind).toBe("applied");
    // The abandoned transaction never commits (Postgres ends the idle session after statement_timeout).
    await new Promise((r) => setTimeout(r, 600));
    expect((await effects(suite.orm)).map((e) => e.correlation_id)).toEqual(["o-next"]);
    const [{ n }] = await suite.orm.em
      .getConnection()
      .execute<{ n: number }[]>("select count(*)::int as n from processed_event where consumer_group = 'svc'");
    expect(n).toBe(1);
  });
});
