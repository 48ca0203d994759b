/**
 * The relay across Postgres restarts, with its slot behind: a clean restart with events the relay has
 * not published yet, and a crash, after which the slot is back at its last checkpointed position and
 * sends again what was published since (consumers apply each event once, by its id).
 *
 * This suite runs its own Postgres (the shared test server must not be restarted under other suites).
 */
import { Client } from "pg";
import { streamKey } from "./keys";
import type { OutboxRelay } from "./relay";
import { effects, eventually, placed, produce, seqOf, startOwnPostgres, useStreamsSuite, type OwnPostgres, OUTAGE_CONSUMER } from "./testing/harness";
import { fieldsOf, type RawEntry } from "./wire";

let pg: OwnPostgres;
const suite = useStreamsSuite("relay_restart", {
  poolMax: 4,
  truncate: [],
  database: async () => {
    pg = await startOwnPostgres("relay-restart");
    // The throwaway server commits asynchronously: here a commit must be in the WAL before it returns, or
    // a crash would take committed events with it (what a production server never does).
    const admin = new Client({ connectionString: pg.adminUrl });
    await admin.connect();
    await admin.query("alter database postgres set synchronous_commit = on");
    await admin.end();
    return pg;
  },
  setup: (orm) =>
    orm.em
      .getConnection()
      .execute("checkpoint")
      .then(() => undefined), // the schema survives the crash below
  timeoutMs: 60_000,
});
let relay: OutboxRelay;

function startRelay(): Promise<void> {
  relay = suite.relay({ maxBackoffMs: 300, flushIntervalMs: 100 });
  return relay.start();
}

async function stream(): Promise<Array<{ id: string; correlationId: string; seq: number }>> {
  const entries = (await suite.redis.xrange(streamKey(suite.prefix, "order"), "-", "+")) as RawEntry[];
  return entries.map(([, fields]) => {
    const envelope = JSON.parse(fieldsOf(fields).envelope!);
    return { id: envelope.id, correlationId: envelope.correlationId, seq: seqOf(envelope) };
  });
}

const distinct = async () => new Set((await stream()).map((e) => e.id)).size;

async function produceSeqs(orderId: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq += 1) await produce(suite.orm, [placed(orderId, seq)]);
}

test("events committed while no relay ran are published after a restart of Postgres", async () => {
  await startRelay();
  await eventually("the relay streaming", () => relay!.stats().leader);
  await produceSeqs("order-r", 1, 5);
  await eventually("the first five", async () => (await distinct()) === 5);
  await relay!.stop();

  await produceSeqs("order-r", 6, 10); // the slot is now behind by these
  await pg.server.stop();
  await pg.restart();
  await startRelay();
  await eventually("the five committed before the restart", async () => (await distinct()) === 10, 20_000);
  const seen = new Set<string>();
  expect((await stream()).filter((e) => !seen.has(e.id) && seen.add(e.id)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}, 90_000);

test("after a crash the slot sends again what was published since its last checkpoint; each event is applied once", async () => {
  const consumer = suite.consumer(OUTAGE_CONSUMER);
  await consumer.start();
  await startRelay();
  await eventually("the relay streaming", () => relay!.stats().leader);
  await produceSeqs("order-c", 1, 5);
  await eventually("the first five", async () => (await distinct()) === 5);
  await suite.orm.em.getConnection().execute("checkpoint"); // the slot's position is saved here…
  await produceSeqs("order-c", 6, 10);
  await eventually("five more, confirmed in memory only", async () => (await distinct()) === 10);

  await pg.crash(); // …and not after
  await pg.restart();
  await eventually("the relay streaming again", () => relay!.stats().leader, 20_000);
  await produceSeqs("order-c", 11, 15);

  await eventually("every event applied", async () => (await effects(suite.orm)).length >= 15, 30_000);
  const applied = await effects(suite.orm);
  expect(applied.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  // Events 6–10 reached the stream twice (the crash rolled the slot back), or once when the walsender
  // saved its position meanwhile; the consumer applied each once either way.
  expect((await stream()).length).toBeGreaterThanOrEqual(15);
  expect(await distinct()).toBe(15);
}, 90_000);
