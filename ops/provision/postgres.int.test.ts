import { Client } from "pg";
import { createServiceDatabases, dropDatabases, ServiceDatabase } from "./postgres";
import { createTestDatabase } from "@commerce/testing";

const adminUrl = () => process.env.TEST_PG_ADMIN_URL!;

async function canConnect(url: string): Promise<true | string> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

describe("per-service databases (real PostgreSQL)", () => {
  const suffix = `_it${Math.random().toString(16).slice(2, 8)}`;
  let dbs: Record<string, ServiceDatabase>;

  beforeAll(async () => {
    dbs = await createServiceDatabases(adminUrl(), ["user", "order"], { suffix });
  });
  afterAll(async () => {
    if (dbs) await dropDatabases(adminUrl(), Object.values(dbs));
  });

  it("creates role <svc>_svc<suffix> owning database commerce_<svc><suffix>", async () => {
    expect(dbs.user.role).toBe(`user_svc${suffix}`);
    expect(dbs.user.database).toBe(`commerce_user${suffix}`);
    const client = new Client({ connectionString: dbs.user.url });
    await client.connect();
    try {
      const { rows } = await client.query("select current_user as who, current_database() as db");
      expect(rows[0]).toEqual({ who: dbs.user.role, db: dbs.user.database });
      // the owner can create tables in its own database
      await client.query("create table t (id int primary key)");
      await client.query("insert into t values (1)");
      expect((await client.query("select count(*)::int as n from t")).rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });

  it("a service role cannot connect to another service's database", async () => {
    expect(await canConnect(withDatabase(dbs.user.url, dbs.order.database))).toMatch(/permission denied for database/);
    expect(await canConnect(withDatabase(dbs.order.url, dbs.user.database))).toMatch(/permission denied for database/);
    if (process.env.TEST_PG_DATA_DIR) {
      // a server we initialised: the maintenance databases are closed to service roles too
      expect(await canConnect(withDatabase(dbs.user.url, "postgres"))).toMatch(/permission denied for database/);
      expect(await canConnect(withDatabase(dbs.user.url, "template1"))).toMatch(/permission denied for database/);
    }
  });

  it("rejects a wrong password", async () => {
    const u = new URL(dbs.user.url);
    u.password = "wrong";
    expect(await canConnect(u.toString())).toMatch(/password authentication failed/);
  });

  it("is idempotent (npm start restarts) and keeps derived passwords stable", async () => {
    const a = await createServiceDatabases(adminUrl(), ["payment"], { suffix, passwordSecret: "s3cret" });
    const b = await createServiceDatabases(adminUrl(), ["payment"], { suffix, passwordSecret: "s3cret" });
    try {
      expect(b.payment.url).toBe(a.payment.url);
      expect(await canConnect(b.payment.url)).toBe(true);
    } finally {
      await dropDatabases(adminUrl(), [a.payment]);
    }
  });

  it("createTestDatabase gives a fresh database with its own role, and drop() removes both", async () => {
    const db = await createTestDatabase("postgres it");
    expect(db.database).toMatch(/^test_postgres_it_[0-9a-f]+$/);
    expect(await canConnect(db.url)).toBe(true);
    expect(await canConnect(withDatabase(db.url, dbs.user.database))).toMatch(/permission denied/);
    await db.drop();
    const client = new Client({ connectionString: adminUrl() });
    await client.connect();
    try {
      const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [db.database]);
      expect(rowCount).toBe(0);
      const roles = await client.query("select 1 from pg_roles where rolname = $1", [db.role]);
      expect(roles.rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});
