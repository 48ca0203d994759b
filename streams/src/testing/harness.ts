/**
 * Test harness of the streams suites (streams-specific; the generic helpers come from @commerce/testing).
 * Every suite gets a throwaway database and a random stream prefix.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { MikroORM } from "@mikro-orm/postgresql";
import type Redis from "ioredis";
import { createEvent } from "../create-event";
import { streamKey } from "../keys";
import { openStreamsOrm } from "../orm";
import { StreamConsumer, type Handler, type StreamConsumerOptions } from "../consumer";
import { commitWithEvents } from "../outbox";
import type { RedisClient } from "../redis-client";
import { OutboxRelay, type OutboxRelayOptions } from "../relay";
import { eventFields } from "../wire";
import type { EventEnvelope } from "@commerce/schema";

import {
  adminUrlFor,
  createTestDatabase,
  freePort,
  randomStreamPrefix,
  redisClient,
  silentLogger,
  startPostgres,
  stopPostgresAt,
  type PgServer,
} from "@commerce/testing";

export { createTestDatabase, eventually, memoryLogger as recordingLogger, randomStreamPrefix, redisClient, silentLogger } from "@commerce/testing";

/** One ORM per simulated process (its own pool), on the database at `url`. */
export const openOrm = openStreamsOrm;

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
export async function xaddEvent(redis: RedisClient, prefix: string, event: EventEnvelope): Promise<string> {
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

/** The database of a suite: a throwaway one on the shared server, or one of {@link startOwnPostgres}. */
export interface SuiteDatabase {
  url: string;
  /** superuser URL to the same database */
  adminUrl: string;
  database: string;
  drop(): Promise<void>;
}

/** What a suite of {@link useStreamsSuite} works with; fields are set by its hooks. */
export interface StreamsSuite<R extends RedisClient = Redis> {
  db: SuiteDatabase;
  orm: MikroORM;
  redis: R;
  /** A fresh stream prefix for each test. */
  prefix: string;
  /** Consumers started by a test: stopped after it. */
  consumers: StreamConsumer[];
  /** Relays started by a test: stopped after it, after the consumers. */
  relays: OutboxRelay[];
  /** A relay of the suite's database to its Redis and prefix, stopped after the test. */
  relay(options?: Partial<OutboxRelayOptions>): OutboxRelay;
  /**
   * A consumer in group `svc` of the suite's `order` stream, named `c-<n>` (n: consumers so far), whose
   * `order.placed` handler is `handler` (default: {@link recordEffect}); stopped after the test.
   */
  consumer(options?: Partial<StreamConsumerOptions> & { handler?: Handler }): StreamConsumer;
}

export interface StreamsSuiteOptions<R extends RedisClient> {
  poolMax?: number;
  /** Run once after the migrations. */
  setup?: (orm: MikroORM, db: SuiteDatabase) => Promise<void>;
  /** The suite's database (default: a throwaway database on the shared test server). */
  database?: () => Promise<SuiteDatabase>;
  /** The suite's Redis client (default: one of the shared test Redis). */
  redis?: () => R | Promise<R>;
  /** Tables emptied before each test. */
  truncate?: string[];
  /** Time allowed to the set-up and tear-down hooks. */
  timeoutMs?: number;
}

/**
 * Registers the usual hooks of a streams suite: a database (migrated, `setup` run once), a Redis client,
 * a fresh prefix and empty tables before each test, consumers and relays stopped after each.
 */
export function useStreamsSuite<R extends RedisClient = Redis>(
  label: string,
  {
    poolMax = 8,
    setup,
    database = () => createTestDatabase(`streams_${label}`),
    redis = () => redisClient() as unknown as R,
    truncate = ["effect", "processed_event", "outbox"],
    timeoutMs,
  }: StreamsSuiteOptions<R> = {},
): StreamsSuite<R> {
  const suite = {
    consumers: [],
    relays: [],
    relay(options = {}) {
      const relay = new OutboxRelay({ orm: suite.orm, redis: suite.redis, prefix: suite.prefix, logger: silentLogger(), ...options });
      suite.relays.push(relay);
      return relay;
    },
    consumer({ handler = recordEffect(), ...options } = {}) {
      const consumer = new StreamConsumer({
        redis: suite.redis,
        orm: suite.orm,
        prefix: suite.prefix,
        service: "svc",
        consumerName: `c-${suite.consumers.length}`,
        streams: ["order"],
        handlers: { "order.placed": handler },
        logger: silentLogger(),
        ...options,
      });
      suite.consumers.push(consumer);
      return consumer;
    },
  } as unknown as StreamsSuite<R>;
  beforeAll(async () => {
    [suite.db, suite.redis] = await Promise.all([database(), redis()]);
    suite.orm = await openOrm(suite.db.url, poolMax);
    await migrate(suite.orm);
    await setup?.(suite.orm, suite.db);
  }, timeoutMs);
  beforeEach(async () => {
    suite.prefix = randomStreamPrefix(label);
    if (truncate.length > 0) await suite.orm.em.getConnection().execute(`truncate ${truncate.join(", ")}`);
  });
  afterEach(async () => {
    await Promise.all(suite.consumers.splice(0).map((c) => c.stop()));
    await Promise.all(suite.relays.splice(0).map((r) => r.stop()));
  });
  afterAll(async () => {
    await suite.orm?.close(true);
    suite.redis?.disconnect();
    await suite.db?.drop();
  }, timeoutMs);
  return suite;
}

/** A Postgres server of a suite's own, for suites that stop it (the shared one serves other suites). */
export interface OwnPostgres extends SuiteDatabase {
  server: PgServer;
  /** Starts the server again on its port and data, after a stop or a crash. */
  restart(): Promise<void>;
  /** Stops the server at once, as a crash would. */
  crash(): Promise<void>;
}

export async function startOwnPostgres(label: string): Promise<OwnPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `streams-${label}-`));
  fs.chmodSync(dir, 0o755); // the postgres OS user must traverse it when we run as root
  const password = `${label}-test-password`;
  const start = (port: number) => startPostgres({ dir: path.join(dir, "pg"), adminPassword: password, port, ephemeral: true });
  const own: OwnPostgres = {
    server: await start(await freePort()),
    get url() {
      return adminUrlFor(own.server.port, password);
    },
    get adminUrl() {
      return own.url;
    },
    database: "postgres",
    async restart() {
      own.server = await start(own.server.port);
    },
    async crash() {
      await stopPostgresAt(own.server.dataDir, own.server.bindir, own.server.user, "immediate");
    },
    async drop() {
      await own.server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return own;
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

/** Consumer settings of the outage suites: short reads, fast retries, and no claiming to rescue events. */
export const OUTAGE_CONSUMER: Partial<StreamConsumerOptions> = { blockMs: 200, retryBaseMs: 50, retryMaxMs: 400, claimIdleMs: 60_000 };
