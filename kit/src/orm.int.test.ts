import { Migration } from "@mikro-orm/migrations";
import { Client } from "pg";
import { createTestDatabase, type TestDatabase } from "@commerce/testing";
import { createLogger } from "./logger";
import { openDatabase, type Orm } from "./orm";

// Not idempotent on purpose: applied twice, the second insert leaves two rows.
class CreateRuns extends Migration {
  async up() {
    this.addSql("create table if not exists runs (n int not null);");
  }
}
class InsertRun extends Migration {
  async up() {
    this.addSql("insert into runs (n) values (1);");
  }
}
const migrations = [
  { name: "Migration20250101000001CreateRuns", class: CreateRuns },
  { name: "Migration20250101000002InsertRun", class: InsertRun },
];

describe("openDatabase with several replicas starting at once", () => {
  let db: TestDatabase;
  const orms: Orm[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("kit_migration_lock");
  });
  afterAll(async () => {
    await Promise.all(orms.map((orm) => orm.close(true)));
    await db?.drop();
  });

  it("applies each migration exactly once and starts every replica", async () => {
    const logger = createLogger({ service: "test", level: "silent" });
    const started = await Promise.allSettled(
      Array.from({ length: 4 }, () => openDatabase({ databaseUrl: db.url, entities: [], migrations, logger, poolMax: 2 })),
    );
    for (const result of started) if (result.status === "fulfilled") orms.push(result.value);
    expect(started.map((result) => (result.status === "rejected" ? String(result.reason) : "started"))).toEqual(Array(4).fill("started"));

    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await client.query("select count(*)::int as n from runs")).rows[0].n).toBe(1);
      const applied = await client.query("select name from mikro_orm_migrations order by id");
      expect(applied.rows.map((row) => row.name)).toEqual(migrations.map((m) => m.name));
      // the lock went with its session: nobody holds it once start-up is over
      const held = await client.query(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
      );
      expect(held.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe("openDatabase pool", () => {
  it("ends a transaction left idle longer than idleInTransactionTimeoutMs, releasing its locks", async () => {
    const db = await createTestDatabase("kit_idle_tx");
    const orm = await openDatabase({
      databaseUrl: db.url,
      entities: [],
      migrations,
      logger: createLogger({ service: "test", level: "silent" }),
      poolMax: 2,
      idleInTransactionTimeoutMs: 200,
    });
    try {
      const em = orm.em.fork();
      await em.begin();
      await em.execute("insert into runs (n) values (42)");
      await em.execute("select pg_advisory_xact_lock(4242)");
      await new Promise((r) => setTimeout(r, 600)); // "hung": no statement, no commit
      await expect(em.execute("select 1")).rejects.toThrow();
      await em.rollback().catch(() => undefined);
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        expect((await client.query("select count(*)::int as n from runs where n = 42")).rows[0].n).toBe(0);
        expect((await client.query("select pg_try_advisory_lock(4242) as free")).rows[0].free).toBe(true);
      } finally {
        await client.end();
      }
      // The pool recovers: new work gets a live connection.
      expect(await orm.em.fork().execute("select 1 as ok")).toEqual([{ ok: 1 }]);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });
});
