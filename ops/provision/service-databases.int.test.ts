import crypto from "node:crypto";
import { Client } from "pg";
import { startTestPostgres, type PgServer } from "@commerce/testing";
import { resolveTargets } from "../commands/targets";
import { dropDatabases } from "./postgres";
import { databaseUrlOn, provisionServiceDatabases, serviceDatabaseUrlsFromEnv, withDefaultServer } from "./service-databases";

const adminUrl = () => process.env.TEST_PG_ADMIN_URL!;
const id = () => crypto.randomBytes(3).toString("hex");

async function asAdmin<T>(fn: (client: Client) => Promise<T>, url = adminUrl()): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Where a URL lands: its role, database and the server's port. */
const whereIs = (url: string) =>
  asAdmin(async (c) => (await c.query("select current_user as role, current_database() as db, current_setting('port') as port")).rows[0], url);

describe("DATABASE_URL_<SERVICE>", () => {
  it("names the service's database, commerce_<svc> when the path is empty; a maintenance database is refused", () => {
    const urls = serviceDatabaseUrlsFromEnv(["user", "order", "payment"] as const, {
      DATABASE_URL_ORDER: "postgres://admin:pw@db2:5433?sslmode=require",
      DATABASE_URL_PAYMENT: "postgresql://pay:pw@db3/payments",
    });
    expect(urls).toEqual({ order: "postgres://admin:pw@db2:5433/commerce_order?sslmode=require", payment: "postgresql://pay:pw@db3/payments" });
    expect(() => serviceDatabaseUrlsFromEnv(["order"], { DATABASE_URL_ORDER: "postgres://a:b@h:5432/postgres" })).toThrow(
      /DATABASE_URL_ORDER names the maintenance database postgres/,
    );
    expect(() => serviceDatabaseUrlsFromEnv(["order"], { DATABASE_URL_ORDER: "redis://h:6379" })).toThrow(/DATABASE_URL_ORDER must be a postgres/);
  });

  it("the services without one go to the default server; with none, the error names the variable", () => {
    const placed = { order: "postgres://a:b@db2:5432/orders" };
    expect(withDefaultServer(["user", "order"] as const, placed, "postgres://root:pw@db1:5432/postgres")).toEqual({
      user: "postgres://root:pw@db1:5432/commerce_user",
      order: "postgres://a:b@db2:5432/orders",
    });
    expect(() => withDefaultServer(["user", "order"] as const, placed, null)).toThrow("no Postgres server for user: set DATABASE_URL_USER");
  });

  it("the tools read it as npm start does, the rest from DATABASE_URL", () => {
    const { databases, describe } = resolveTargets({
      DATABASE_URL_ORDER: "postgres://admin:pw@db2:5433",
      DATABASE_URL: "postgres://root:pw@db1:5432/postgres",
      REDIS_URL: "redis://r:6379",
    });
    expect(databases.order).toBe("postgres://admin:pw@db2:5433/commerce_order");
    expect(databases.user).toBe("postgres://root:pw@db1:5432/commerce_user");
    expect(databases.notification).toBe("postgres://root:pw@db1:5432/commerce_notification");
    expect(describe).toMatch(/DATABASE_URL \(user, product, payment, notification\)/);
  });
});

describe("provisionServiceDatabases (real PostgreSQL)", () => {
  const made: { server: string; database: string; role: string }[] = [];
  afterAll(async () => {
    for (const { server, database, role } of made) await dropDatabases(server, [{ database, role }]).catch(() => {});
  });

  it("with a superuser URL creates the database and a role owning it, with a stable password; again changes nothing", async () => {
    const suffix = `_sd${id()}`;
    const url = databaseUrlOn(adminUrl(), `commerce_order${suffix}`);
    const first = await provisionServiceDatabases({ order: url }, { roleSuffix: suffix, passwordSecret: "s3cret" });
    made.push({ server: adminUrl(), database: first.order.database, role: first.order.role });
    expect(first.order).toMatchObject({ role: `order_svc${suffix}`, database: `commerce_order${suffix}` });
    expect(await whereIs(first.order.url)).toMatchObject({ role: `order_svc${suffix}`, db: `commerce_order${suffix}` });
    const again = await provisionServiceDatabases({ order: url }, { roleSuffix: suffix, passwordSecret: "s3cret" });
    expect(again.order.url).toBe(first.order.url);
    const replication = await asAdmin(
      async (c) => (await c.query("select rolreplication from pg_roles where rolname = $1", [first.order.role])).rows[0],
    );
    expect(replication).toEqual({ rolreplication: true });
  });

  it("takes the service's own role as it is, once it has REPLICATION and owns its database; names what is missing", async () => {
    const name = `own_${id()}`;
    const password = "own-password-123";
    await asAdmin(async (c) => {
      await c.query(`create role ${name} login password '${password}'`);
      await c.query(`create database ${name} owner ${name}`);
    });
    made.push({ server: adminUrl(), database: name, role: name });
    const own = new URL(databaseUrlOn(adminUrl(), name));
    own.username = name;
    own.password = password;

    const refused = provisionServiceDatabases({ payment: own.toString() });
    await expect(refused).rejects.toThrow(
      new RegExp(`payment's database .*${name}:\\*\\*\\*@.*role ${name} lacks REPLICATION.*ALTER ROLE ${name} REPLICATION`),
    );
    await expect(refused).rejects.not.toThrow(/own-password-123/);

    await asAdmin((c) => c.query(`alter role ${name} replication`));
    const used = await provisionServiceDatabases({ payment: own.toString() });
    expect(used.payment).toMatchObject({ role: name, database: name, url: own.toString() });

    const missingDb = new URL(own);
    missingDb.pathname = `/${name}_nope`;
    await expect(provisionServiceDatabases({ payment: missingDb.toString() })).rejects.toThrow(new RegExp(`database ${name}_nope does not exist`));
  });

  describe("on a server without logical decoding", () => {
    let plain: PgServer;
    beforeAll(async () => {
      plain = await startTestPostgres({ settings: { wal_level: "replica", max_replication_slots: "1" } });
    }, 60_000);
    afterAll(() => plain?.stop());

    it("refuses, naming the server, its services and the settings to change", async () => {
      const urls = { order: databaseUrlOn(plain.adminUrl, "commerce_order"), payment: databaseUrlOn(plain.adminUrl, "commerce_payment") };
      await expect(provisionServiceDatabases(urls)).rejects.toThrow(
        new RegExp(
          `the server of order, payment \\(127\\.0\\.0\\.1:${plain.port}\\): wal_level is replica, the relays need logical; ` +
            `max_replication_slots is 1, the relays of order, payment need at least 2\\. Set wal_level = logical`,
        ),
      );
      const created = await asAdmin(
        async (c) => (await c.query("select datname from pg_database where datname like 'commerce_%'")).rows,
        plain.adminUrl,
      );
      expect(created).toEqual([]);
    });
  });
});
