import type { MikroORM } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import { Client } from 'pg';
import { streamKey } from './keys';
import { OutboxRelay, RELAY_APPLICATION_NAME } from './relay';
import {
  createTestDatabase,
  eventually,
  migrate,
  openOrm,
  placed,
  produce,
  randomStreamPrefix,
  redisClient,
  seqOf,
  silentLogger,
} from './testing/harness';
import { fieldsOf, type RawEntry } from './wire';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

let db: TestDatabase;
let orm: MikroORM;
let redis: Redis;
let prefix: string;
const relays: OutboxRelay[] = [];
const orms: MikroORM[] = [];

beforeAll(async () => {
  db = await createTestDatabase('streams_relay');
  orm = await openOrm(db.url);
  await migrate(orm);
  redis = redisClient();
});

beforeEach(() => {
  prefix = randomStreamPrefix('relay');
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await orm.em.getConnection().execute('truncate outbox');
});

afterAll(async () => {
  await Promise.all(orms.map((o) => o.close()));
  await orm.close();
  redis.disconnect();
  await db.drop();
});

function relay(options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}): OutboxRelay {
  const r = new OutboxRelay({ orm, redis, prefix, logger: silentLogger(), ...options });
  relays.push(r);
  return r;
}

async function published(): Promise<Array<{ id: string; correlationId: string; seq: number }>> {
  const entries = (await redis.xrange(streamKey(prefix, 'order'), '-', '+')) as RawEntry[];
  return entries.map(([, fields]) => {
    const envelope = JSON.parse(fieldsOf(fields).envelope!);
    return { id: envelope.id, correlationId: envelope.correlationId, seq: seqOf(envelope) };
  });
}

describe('OutboxRelay', () => {
  it('publishes committed events once, in commit order, and marks them published', async () => {
    const events = Array.from({ length: 40 }, (_, i) => placed('order-a', i + 1));
    for (const event of events) await produce(orm, [event]);
    await relay().start();

    await eventually('40 entries on the stream', async () => (await published()).length === 40);
    expect((await published()).map((e) => e.id)).toEqual(events.map((e) => e.id));
    const [row] = await orm.em.getConnection().execute('select count(*)::int as n from outbox where published_at is null');
    expect(row.n).toBe(0);
  });

  it('holds rows back while an older transaction that may still commit a lower id is open', async () => {
    const r = relay({ pollIntervalMs: 20 });
    await r.start();
    const older = new Client({ connectionString: db.url });
    await older.connect();
    try {
      // The older transaction takes the lower id but commits last.
      const first = placed('order-b', 1);
      await older.query('begin');
      await older.query(
        `insert into outbox (event_id, type, stream, correlation_id, payload) values ($1, $2, 'order', $3, $4)`,
        [first.id, first.type, first.correlationId, JSON.stringify(first)],
      );
      await produce(orm, [placed('order-b', 2)]); // younger, higher id, committed first
      await eventually('the relay to see a row it must hold back', () => r.stats().blocked > 0);
      // Without the guard the younger row would be on the stream already, and id 1 would follow it.
      expect(await published()).toEqual([]);

      await older.query('commit');
      r.wake();
      await eventually('both rows', async () => (await published()).length === 2);
      expect((await published()).map((e) => e.seq)).toEqual([1, 2]);
    } finally {
      await older.end();
    }
  });

  it('is not held back by a write transaction open in another database of the same server', async () => {
    // Transaction ids are server-wide: a service's open transaction used to delay every other service's relay.
    const other = await createTestDatabase('streams_relay_other');
    const neighbour = new Client({ connectionString: other.url });
    await neighbour.connect();
    try {
      await neighbour.query('create table busy (x int)');
      await neighbour.query('begin');
      await neighbour.query('insert into busy values (1)'); // now holds an xid older than our row's
      const [{ xid: neighbourXid }] = (await neighbour.query(`select pg_current_xact_id()::text as xid`)).rows;
      const r = relay({ pollIntervalMs: 60_000 });
      await r.start();
      await produce(orm, [placed('order-n', 1)]);
      await eventually('the row published while the neighbour is still open', async () => (await published()).length === 1, 5_000);
      // The neighbour still holds its older xid: the row went out past it, not after it. (The relay may
      // have held the row back for a few ms meanwhile: an xid of another test's short transaction that
      // ended between the snapshot and the pg_stat_activity read counts as unknown, so it waits.)
      const [{ xid: stillOpen }] = (await neighbour.query(`select pg_current_xact_id_if_assigned()::text as xid`)).rows;
      expect(stillOpen).toBe(neighbourXid);
      const [row] = await orm.em.getConnection().execute(`select tx_id::text as xid from outbox where correlation_id = 'order-n'`);
      expect(BigInt(row.xid)).toBeGreaterThan(BigInt(neighbourXid));
      await neighbour.query('rollback');
    } finally {
      await neighbour.end();
      await other.drop();
    }
  });

  it('looks again within milliseconds when another replica holds the relay lock (no poll, no NOTIFY needed)', async () => {
    const replica = new Client({ connectionString: db.url });
    await replica.connect();
    try {
      // Another replica's batch in progress: it started before our commit, so it will not publish our row.
      await replica.query('begin');
      await replica.query(`select pg_advisory_xact_lock(${0x6f7574626f78})`);
      const r = relay({ pollIntervalMs: 60_000, listen: false });
      await r.start();
      await produce(orm, [placed('order-l', 1)]); // wakes only the relay of this process
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await published()).toEqual([]);
      await replica.query('commit');
      // Far sooner than the 60 s poll: the relay retried the lock on its short backoff.
      await eventually('the row published once the lock is free', async () => (await published()).length === 1, 2_000);
    } finally {
      await replica.end();
    }
  });

  it('with two relays on one database publishes every row exactly once, in order per order', async () => {
    const second = await openOrm(db.url);
    orms.push(second);
    await relay({ batchSize: 50 }).start();
    await relay({ orm: second, batchSize: 50 }).start();

    const orders = Array.from({ length: 8 }, (_, i) => `order-${i}`);
    const perOrder = 100;
    // Concurrent producers, each committing its order's events one transaction at a time.
    await Promise.all(
      orders.map(async (orderId) => {
        for (let seq = 1; seq <= perOrder; seq += 1) await produce(orm, [placed(orderId, seq)]);
      }),
    );

    const total = orders.length * perOrder;
    await eventually(`${total} entries`, async () => (await published()).length >= total, 60_000);
    const stream = await published();
    expect(stream).toHaveLength(total);
    expect(new Set(stream.map((e) => e.id)).size).toBe(total);
    for (const orderId of orders) {
      expect(stream.filter((e) => e.correlationId === orderId).map((e) => e.seq)).toEqual(
        Array.from({ length: perOrder }, (_, i) => i + 1),
      );
    }
    expect(relays[0]!.stats().published + relays[1]!.stats().published).toBe(total);
  }, 90_000);

  it('opens a new connection after its own was cut, and publishes on, once each and in order', async () => {
    const statements: number[] = [];
    const r = relay({ pollIntervalMs: 20, maxBackoffMs: 50, onStatement: () => statements.push(1) });
    await r.start();
    for (let seq = 1; seq <= 5; seq += 1) await produce(orm, [placed('order-k', seq)]);
    await eventually('the first rows published', async () => (await published()).length === 5);
    const relayBackends = async () =>
      (
        await orm.em.getConnection().execute<{ pid: number }[]>(
          `select pid from pg_stat_activity where datname = current_database() and application_name = ?`,
          [RELAY_APPLICATION_NAME],
        )
      ).map((row) => row.pid);
    const [before] = await relayBackends();
    expect(before).toBeDefined();
    await orm.em.getConnection().execute('select pg_terminate_backend(?)', [before]);
    for (let seq = 6; seq <= 10; seq += 1) await produce(orm, [placed('order-k', seq)]);
    await eventually('the rest published', async () => (await published()).length >= 10);
    expect((await published()).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const after = await relayBackends();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    // its statements bypass the ORM and are reported to the service's metrics instead
    expect(statements.length).toBeGreaterThan(0);
  });

  it('purges published rows after the retention', async () => {
    await produce(orm, [placed('order-c', 1)]);
    await relay({ retentionMs: 0, purgeIntervalMs: 0, pollIntervalMs: 20 }).start();
    await eventually('the published row to be purged', async () => {
      const [row] = await orm.em.getConnection().execute('select count(*)::int as n from outbox');
      return row.n === 0 && (await published()).length === 1;
    });
  });
});
