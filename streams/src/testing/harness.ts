/**
 * Test harness of the streams suites (streams-specific; the generic helpers come from @commerce/testing).
 * Every suite gets a throwaway database and a random stream prefix.
 */
import { Migrator } from "@mikro-orm/migrations";
import { MikroORM } from "@mikro-orm/postgresql";
import type Redis from "ioredis";
import { createEvent } from "../create-event";
import { streamsEntities } from "../entities";
import { streamKey } from "../keys";
import { streamsMigrations } from "../migrations";
import { StreamConsumer, type Handler, type StreamConsumerOptions } from "../consumer";
import { commitWithEvents } from "../outbox";
import { eventFields } from "../wire";
import type { EventEnvelope } from "@commerce/schema";

import { createTestDatabase, randomStreamPrefix, redisClient, silentLogger } from "@commerce/testing";

export { createTestDatabase, eventually, memoryLogger as recordingLogger, randomStreamPrefix, redisClient, silentLogger } from "@commerce/testing";

/** One ORM per simulated process (its own pool), on the database at `url`. */
export async function openOrm(url: string, poolMax = 8): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: url,
    entities: streamsEntities,
    extensions: [Migrator],
    migrations: { migrationsList: streamsMigrations, silent: true },
    pool: { min: 0, max: poolMax },
    debug: false,
  });
}

/** Runs the streams migrations and creates `effect`, the table test handlers write their effects to. */
export async function migrate(orm: MikroORM): Promise<void> {
  await orm.getMigrator().up();
  await orm.em.getConnection().execute(`
    create table if not exists effect (
      n bigserial primary key,
      event_id uuid not null,
      correlation_id text not null,
      seq int not null,
      consumer text not null default ''
    )`);
}

/** A valid `order.placed` whose first item quantity carries `seq`, to check ordering per order. */
export function placed(orderId: string, seq: number): EventEnvelope {
  return createEvent(
    "order.placed",
    {
      orderId,
      userId: "user-1",
      items: [{ productId: "product-1", quantity: seq, unitPrice: { amount: 100, currency: "EUR" } }],
      total: { amount: 100 * seq, currency: "EUR" },
    },
    { correlationId: orderId },
  );
}

export function seqOf(event: EventEnvelope): number {
  return (event.payload as { items: { quantity: number }[] }).items[0]!.quantity;
}

/** Publishes straight to the stream (bypassing the outbox) so tests can craft duplicates and garbage. */
export async function xaddEvent(redis: Redis, prefix: string, event: EventEnvelope): Promise<string> {
  return (await redis.xadd(streamKey(prefix, "order"), "*", ...eventFields(event, JSON.stringify(event))))!;
}

/** Commits `events` through the outbox, in one transaction. */
export async function produce(orm: MikroORM, events: EventEnvelope[]): Promise<void> {
  await commitWithEvents(orm.em.fork(), async (_tx, emit) => events.forEach(emit));
}

/** Rows of `effect`, in the order they were applied. */
export async function effects(orm: MikroORM): Promise<Array<{ event_id: string; correlation_id: string; seq: number; consumer: string }>> {
  return orm.em.getConnection().execute("select event_id, correlation_id, seq, consumer from effect order by n");
}

/** What a suite of {@link useStreamsSuite} works with; fields are set by its hooks. */
export interface StreamsSuite {
  orm: MikroORM;
  redis: Redis;
  /** A fresh stream prefix for each test. */
  prefix: string;
  /** Consumers started by a test: stopped after it. */
  consumers: StreamConsumer[];
}

/**
 * Registers the usual hooks of a streams suite: a throwaway database (migrated, `setup` run once), a
 * Redis client, a fresh prefix and empty tables before each test, consumers stopped after each.
 */
export function useStreamsSuite(
  label: string,
  { poolMax = 8, setup }: { poolMax?: number; setup?: (orm: MikroORM) => Promise<void> } = {},
): StreamsSuite {
  const suite = { consumers: [] } as unknown as StreamsSuite;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase(`streams_${label}`);
    suite.orm = await openOrm(db.url, poolMax);
    await migrate(suite.orm);
    await setup?.(suite.orm);
    suite.redis = redisClient();
  });
  beforeEach(async () => {
    suite.prefix = randomStreamPrefix(label);
    await suite.orm.em.getConnection().execute("truncate effect, processed_event, outbox");
  });
  afterEach(async () => {
    await Promise.all(suite.consumers.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    await suite.orm?.close(true);
    suite.redis?.disconnect();
    await db?.drop();
  });
  return suite;
}

/** The effect under test: one `effect` row per application of an event, tagged with `consumer`. */
export const recordEffect =
  (consumer = ""): Handler =>
  async (event, { em }) => {
    await em.execute("insert into effect (event_id, correlation_id, seq, consumer) values (?, ?, ?, ?)", [
      event.id,
      event.correlationId,
      seqOf(event),
      consumer,
    ]);
  };

/** A consumer in group `svc` of the `order` stream whose `order.placed` handler records the event in `effect`. */
export function effectConsumer(orm: MikroORM, redis: Redis, prefix: string, options: Partial<StreamConsumerOptions> = {}): StreamConsumer {
  return new StreamConsumer({
    redis,
    orm,
    prefix,
    service: "svc",
    consumerName: "c-1",
    streams: ["order"],
    handlers: { "order.placed": recordEffect() },
    logger: silentLogger(),
    ...options,
  });
}
