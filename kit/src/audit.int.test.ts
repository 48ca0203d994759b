import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Client } from "pg";
import { createTestDatabase, type TestDatabase } from "@commerce/testing";
import { AuditEntry, audit, auditEntities, auditMigrations, listAuditEntries } from "./audit";
import { createLogger } from "./logger";
import { openDatabase, type Orm } from "./orm";

describe("the audit log", () => {
  let db: TestDatabase;
  let orm: Orm;
  let sql: Client;
  const fork = () => orm.em.fork() as EntityManager;

  beforeAll(async () => {
    db = await createTestDatabase("kit_audit");
    orm = await openDatabase({
      databaseUrl: db.url,
      entities: auditEntities,
      migrations: auditMigrations,
      logger: createLogger({ service: "test", level: "silent" }),
    });
    // The service's own role (the database owner), as the service itself would connect.
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await orm?.close(true);
    await db?.drop();
  });

  it("records who, what, when and the correlation id in the caller's transaction", async () => {
    const before = Date.now();
    await fork().transactional(async (tx) => {
      audit(
        tx,
        { identity: { kind: "user", userId: "u-1", role: "ADMIN" }, requestId: "req-1" },
        {
          action: "user.role_changed",
          targetType: "User",
          targetId: "u-2",
          details: { before: "CUSTOMER", after: "STAFF" },
        },
      );
      audit(
        tx,
        { event: { id: "ev-1", type: "order.cancelled", correlationId: "order-1" } },
        { action: "payment.refunded", targetType: "Payment", targetId: "p-1" },
      );
      audit(tx, { job: "saga-deadline", correlationId: "order-2" }, { action: "order.cancelled", targetType: "Order", targetId: "order-2" });
      audit(
        tx,
        { identity: { kind: "service", service: "order" }, requestId: "req-2" },
        { action: "x", targetType: "T", targetId: "t", correlationId: "order-3" },
      );
    });
    const { rows } = await sql.query("select * from audit_log order by action, actor_kind");
    expect(rows.map(({ id: _id, at: _at, ...row }) => row)).toEqual([
      {
        action: "order.cancelled",
        target_type: "Order",
        target_id: "order-2",
        actor_kind: "JOB",
        actor_id: "saga-deadline",
        actor_role: null,
        correlation_id: "order-2",
        details: {},
      },
      {
        action: "payment.refunded",
        target_type: "Payment",
        target_id: "p-1",
        actor_kind: "EVENT",
        actor_id: "ev-1",
        actor_role: "order.cancelled",
        correlation_id: "order-1",
        details: {},
      },
      {
        action: "user.role_changed",
        target_type: "User",
        target_id: "u-2",
        actor_kind: "USER",
        actor_id: "u-1",
        actor_role: "ADMIN",
        correlation_id: "req-1",
        details: { before: "CUSTOMER", after: "STAFF" },
      },
      {
        action: "x",
        target_type: "T",
        target_id: "t",
        actor_kind: "SERVICE",
        actor_id: "order",
        actor_role: null,
        correlation_id: "order-3",
        details: {},
      },
    ]);
    for (const row of rows) expect(row.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it("loses the row when the change it describes rolls back", async () => {
    await expect(
      fork().transactional(async (tx) => {
        audit(tx, { job: "j", correlationId: "c" }, { action: "rolled.back", targetType: "T", targetId: "t" });
        await tx.flush();
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect((await sql.query("select count(*)::int as n from audit_log where action = 'rolled.back'")).rows[0].n).toBe(0);
  });

  it("refuses UPDATE, DELETE and TRUNCATE, even to the owning role", async () => {
    await expect(sql.query("update audit_log set action = 'forged'")).rejects.toThrow(/append-only: UPDATE/);
    await expect(sql.query("delete from audit_log")).rejects.toThrow(/append-only: DELETE/);
    await expect(sql.query("truncate audit_log")).rejects.toThrow(/append-only: TRUNCATE/);
    // through the ORM too (a managed entity changed and flushed)
    const em = fork();
    const entry = await em.findOneOrFail(AuditEntry, { action: "user.role_changed" });
    entry.action = "forged";
    await expect(em.flush()).rejects.toThrow(/append-only/);
    expect((await sql.query("select count(*)::int as n from audit_log where action = 'forged'")).rows[0].n).toBe(0);
  });

  it("lists newest first, filtered, in pages with a cursor", async () => {
    await fork().transactional(async (tx) => {
      for (let i = 0; i < 5; i += 1) {
        const entry = audit(tx, { job: "pager", correlationId: `c${i}` }, { action: "paged", targetType: "Thing", targetId: i % 2 ? "odd" : "even" });
        entry.at = new Date(Date.UTC(2030, 0, 1, 0, 0, i));
      }
    });
    const first = await listAuditEntries(fork(), { action: "paged" }, 2);
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((edge) => edge.node.correlationId)).toEqual(["c4", "c3"]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = await listAuditEntries(fork(), { action: "paged" }, 10, first.pageInfo.endCursor);
    expect(rest.edges.map((edge) => edge.node.correlationId)).toEqual(["c2", "c1", "c0"]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const odd = await listAuditEntries(fork(), { action: "paged", targetType: "Thing", targetId: "odd" });
    expect(odd.edges.map((edge) => edge.node.correlationId)).toEqual(["c3", "c1"]);
    await expect(listAuditEntries(fork(), null, 101)).rejects.toMatchObject({ extensions: { field: "first" } });
  });

  it("finds entries by a UUID written in upper case, and takes an empty filter value for none", async () => {
    const target = randomUUID();
    await fork().transactional(
      async (tx) => void audit(tx, { job: "case", correlationId: "case" }, { action: "cased", targetType: "Thing", targetId: target }),
    );
    const found = await listAuditEntries(fork(), { targetId: target.toUpperCase() });
    expect(found.edges.map((edge) => edge.node.targetId)).toEqual([target]);
    // A correlation id matches in either case: an order id is stored lower case, a client's request id as sent.
    const correlated = randomUUID().toUpperCase();
    await fork().transactional(
      async (tx) => void audit(tx, { job: "case", correlationId: correlated }, { action: "correlated", targetType: "Thing", targetId: target }),
    );
    await fork().transactional(
      async (tx) => void audit(tx, { job: "case", correlationId: target }, { action: "correlated", targetType: "Thing", targetId: target }),
    );
    expect((await listAuditEntries(fork(), { action: "correlated", correlationId: correlated })).totalCount).toBe(1);
    expect((await listAuditEntries(fork(), { action: "correlated", correlationId: target.toUpperCase() })).totalCount).toBe(1);
    const unfiltered = await listAuditEntries(fork(), { action: "" }, 1);
    expect(unfiltered.totalCount).toBe((await listAuditEntries(fork(), null, 1)).totalCount);
  });

  it("keeps each service's log a list of its own: another log's cursor is refused", async () => {
    const page = await listAuditEntries(fork(), null, 1, null, "paymentAuditLog");
    expect((await listAuditEntries(fork(), null, 1, page.pageInfo.endCursor, "paymentAuditLog")).edges).toBeDefined();
    await expect(listAuditEntries(fork(), null, 1, page.pageInfo.endCursor, "orderAuditLog")).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      extensions: { field: "after" },
    });
  });

  it("refuses a hand-made cursor as BAD_USER_INPUT naming after, before any SQL", async () => {
    const forge = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString("base64url");
    for (const after of [forge(["audit", "2020-01-01T00:00:00Z", "x"]), forge(["audit", "not-a-date", "00000000-0000-4000-8000-000000000000"])]) {
      await expect(listAuditEntries(fork(), null, 5, after)).rejects.toMatchObject({ code: "BAD_USER_INPUT", extensions: { field: "after" } });
    }
  });
});
