import type { MikroORM } from "@mikro-orm/postgresql";
import { Client } from "pg";
import { dropSlot } from "./catch-up";
import { streamKey } from "./keys";
import { PUBLISHED_AT_SQL } from "./publication-log";
import { RELAY_APPLICATION_NAME, type OutboxRelay, type OutboxRelayOptions } from "./relay";
import { slotNameFor } from "./slot";
import { effects, eventually, openOrm, placed, produce, seqOf, useStreamsSuite } from "./testing/harness";
import { fieldsOf, type RawEntry } from "./wire";

const suite = useStreamsSuite("relay", { truncate: [] });
const orms: MikroORM[] = [];

afterEach(async () => {
  // Each test starts from a database whose slot has published everything before it.
  await suite.orm.em.getConnection().execute("truncate outbox, outbox_publication");
  await admin(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active`, [
    slotNameFor(suite.db.database),
  ]);
});

afterAll(async () => {
  await Promise.all(orms.map((o) => o.close()));
});

/** A query as the server's superuser, on the test database. */
async function admin<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: suite.db.adminUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const relay = (options: Partial<OutboxRelayOptions> = {}) =>
  suite.relay({ maxBackoffMs: 200, standbyRetryMs: 100, flushIntervalMs: 100, ...options });

async function published(): Promise<Array<{ id: string; correlationId: string; seq: number }>> {
  const entries = (await suite.redis.xrange(streamKey(suite.prefix, "order"), "-", "+")) as RawEntry[];
  return entries.map(([, fields]) => {
    const envelope = JSON.parse(fieldsOf(fields).envelope!);
    return { id: envelope.id, correlationId: envelope.correlationId, seq: seqOf(envelope) };
  });
}

/** The order's events in the order they first reached the stream (redeliveries may repeat one later). */
async function firstSeen(orderId: string): Promise<number[]> {
  const seen = new Set<string>();
  return (await published()).filter((e) => e.correlationId === orderId && !seen.has(e.id) && seen.add(e.id)).map((e) => e.seq);
}

/** Resolves once the relay streams from the slot (it created the slot and caught up first, if it had to). */
const streaming = (r: OutboxRelay) => eventually("the relay streaming", () => r.stats().leader);

const walSender = async (): Promise<number | null> =>
  (
    await admin<{ pid: number | null }>(`select active_pid as pid from pg_replication_slots where slot_name = $1`, [slotNameFor(suite.db.database)])
  )[0]?.pid ?? null;

describe("OutboxRelay (logical decoding)", () => {
  it("publishes what was committed before its slot existed, then every commit as it happens, in order", async () => {
    for (let seq = 1; seq <= 20; seq += 1) await produce(suite.orm, [placed("order-a", seq)]);
    const r = relay();
    await r.start();
    await eventually("the 20 rows committed before the slot", async () => (await published()).length === 20);
    await streaming(r);
    expect(r.stats()).toMatchObject({ slotsCreated: 1, caughtUp: 20 });
    for (let seq = 21; seq <= 40; seq += 1) await produce(suite.orm, [placed("order-a", seq)]);
    await eventually("40 entries", async () => (await published()).length === 40);
    expect((await published()).map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(r.stats().leader).toBe(true);

    // What was published when, for people (npm run saga, Order.timeline): flushed off the hot path.
    await eventually("every row listed as published", async () => {
      const rows = await suite.orm.em
        .getConnection()
        .execute<{ published_at: Date | null }[]>(`select ${PUBLISHED_AT_SQL} as published_at from outbox o`);
      return rows.length === 40 && rows.every((row) => row.published_at !== null);
    });
    // The slot is confirmed up to the last commit: a restarted relay publishes nothing twice.
    await r.stop();
    const again = relay();
    await again.start();
    await streaming(again);
    await produce(suite.orm, [placed("order-a", 41)]);
    await eventually("the next event", async () => (await published()).length === 41);
    expect(again.stats()).toMatchObject({ slotsCreated: 0, published: 1 });
  });

  it("publishes a transaction committed while an older one is still open at once, and the older one at its commit", async () => {
    const r = relay();
    await r.start();
    await streaming(r);
    const older = new Client({ connectionString: suite.db.url });
    await older.connect();
    try {
      const first = placed("order-b", 1);
      await older.query("begin");
      await older.query(`insert into outbox (event_id, type, stream, correlation_id, payload) values ($1, $2, 'order', $3, $4)`, [
        first.id,
        first.type,
        first.correlationId,
        JSON.stringify(first),
      ]);
      await produce(suite.orm, [placed("order-c", 1)]);
      // Commit order, not id order: the younger transaction is not held back by the open one.
      await eventually("the younger commit", async () => (await published()).length === 1);
      expect((await published())[0]!.correlationId).toBe("order-c");

      // A relay restarted meanwhile still gets the older transaction: the slot keeps its WAL.
      await r.stop();
      const next = relay();
      await next.start();
      await older.query("commit");
      await eventually("the older transaction at its commit", async () => (await published()).length === 2);
      expect((await published()).map((e) => e.correlationId)).toEqual(["order-c", "order-b"]);
    } finally {
      await older.end();
    }
  });

  it("lets one replica stream and the other stand by, which takes over when the first goes away", async () => {
    const second = await openOrm(suite.db.url);
    orms.push(second);
    const a = relay({ batchSize: 50 });
    await a.start();
    await streaming(a);
    const b = relay({ orm: second, batchSize: 50 });
    await b.start();

    const orders = Array.from({ length: 6 }, (_, i) => `order-${i}`);
    const perOrder = 60;
    let stopped = false;
    await Promise.all(
      orders.map(async (orderId, i) => {
        for (let seq = 1; seq <= perOrder; seq += 1) {
          await produce(suite.orm, [placed(orderId, seq)]);
          if (i === 0 && seq === perOrder / 2 && !stopped) {
            stopped = true;
            expect(b.stats().leader).toBe(false);
            await a.stop(); // the leader leaves mid-production
          }
        }
      }),
    );
    const total = orders.length * perOrder;
    await eventually(`${total} distinct events`, async () => new Set((await published()).map((e) => e.id)).size === total, 30_000);
    expect(b.stats().leader).toBe(true);
    for (const orderId of orders) expect(await firstSeen(orderId)).toEqual(Array.from({ length: perOrder }, (_, i) => i + 1));
    expect(a.stats().published + b.stats().published).toBeGreaterThanOrEqual(total);
  }, 60_000);

  it("republishes a batch whose confirmation was lost (killed between XADD and confirm); the stream keeps commit order", async () => {
    let failNext = true;
    const r = relay({
      afterXadd: () => {
        if (!failNext) return;
        failNext = false;
        throw new Error("killed after XADD, before the confirmation");
      },
    });
    await r.start();
    await streaming(r);
    const events = [placed("order-d", 1), placed("order-d", 2)];
    await produce(suite.orm, [events[0]!]);
    await produce(suite.orm, [events[1]!]);
    await eventually("both events, the first one twice", async () => {
      const ids = (await published()).map((e) => e.id);
      return ids.filter((id) => id === events[0]!.id).length === 2 && ids.includes(events[1]!.id);
    });
    expect(await firstSeen("order-d")).toEqual([1, 2]);
    expect(r.stats().failures).toBe(1);

    // The redelivery is deduplicated by the consumers: each event applied once, in order.
    const consumer = suite.consumer({ blockMs: 100 });
    await consumer.start();
    const entries = (await published()).length; // 3, or 4 when both commits shared the failed batch
    await eventually("every entry handled", () => consumer.stats().processed + consumer.stats().duplicates === entries);
    const applied = (await effects(suite.orm)).filter((e) => e.correlation_id === "order-d");
    expect(applied.map((e) => e.seq)).toEqual([1, 2]);
    expect(consumer.stats().duplicates).toBe(entries - 2);
  });

  it("opens a new replication connection after its own was cut, and publishes on, in order", async () => {
    const statements: number[] = [];
    const r = relay({ onStatement: () => statements.push(1) });
    await r.start();
    await streaming(r);
    for (let seq = 1; seq <= 5; seq += 1) await produce(suite.orm, [placed("order-k", seq)]);
    await eventually("the first rows published", async () => (await published()).length === 5);
    const before = await walSender();
    expect(before).not.toBeNull();
    const [backend] = await admin<{ application_name: string }>("select application_name from pg_stat_activity where pid = $1", [before]);
    expect(backend!.application_name).toBe(RELAY_APPLICATION_NAME);
    await admin("select pg_terminate_backend($1)", [before]);
    for (let seq = 6; seq <= 10; seq += 1) await produce(suite.orm, [placed("order-k", seq)]);
    await eventually("the rest published", async () => new Set((await published()).map((e) => e.id)).size === 10);
    expect(await firstSeen("order-k")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await walSender()).not.toBe(before);
    // its statements bypass the ORM and are reported to the service's metrics instead
    await eventually("the publication log written", () => statements.length > 0);
  });

  it("recreates a dropped slot and publishes every row committed while there was none, but not the ones it listed as published", async () => {
    const r = relay();
    await r.start();
    await streaming(r);
    for (let seq = 1; seq <= 5; seq += 1) await produce(suite.orm, [placed("order-s", seq)]);
    await eventually("five published", async () => (await published()).length === 5);
    await r.stop(); // writes the publication log

    // The slot is lost while no relay runs: nothing decodes what commits meanwhile.
    await admin("select pg_drop_replication_slot($1)", [slotNameFor(suite.db.database)]);
    for (let seq = 6; seq <= 10; seq += 1) await produce(suite.orm, [placed("order-s", seq)]);

    const next = relay();
    await next.start();
    await eventually("the five committed without a slot", async () => (await published()).length === 10);
    await streaming(next);
    expect((await published()).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(next.stats()).toMatchObject({ slotsCreated: 1, caughtUp: 5 });

    // And under a running relay: dropped (its session ended first), recreated, nothing lost.
    await dropSlot({ connectionString: suite.db.adminUrl }, slotNameFor(suite.db.database));
    for (let seq = 11; seq <= 15; seq += 1) await produce(suite.orm, [placed("order-s", seq)]);
    await eventually("every event after the loss", async () => new Set((await published()).map((e) => e.id)).size === 15);
    expect(await firstSeen("order-s")).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });
});
