import { randomUUID } from "node:crypto";
import { Entity, Enum, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import type { EntityManager } from "@mikro-orm/postgresql";
import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Directive, Field, ID, InputType, Int, ObjectType, Query, Resolver, registerEnumType, type ClassType } from "type-graphql";
import { requireRole, type Context } from "./context";
import { BadUserInputError } from "./errors";
import { canonicalId } from "./ids";
import { PageInfo, afterDateCursor, decodeCursor, pageSize, toConnection, type ConnectionShape } from "./pagination";

/**
 * The append-only audit log every subgraph keeps in its own database: who did
 * what to which record, when, and under which correlation id (the order id in a
 * saga, the request id otherwise). Rows are written with {@link audit} in the
 * transaction of the change they describe, so a change and its audit row commit
 * or roll back together; the database refuses UPDATE, DELETE and TRUNCATE.
 */

export const AUDIT_ACTOR_KINDS = ["USER", "SERVICE", "EVENT", "JOB", "ANONYMOUS"] as const;
/** USER: a signed-in person; SERVICE: another of our processes; EVENT: a saga handler; JOB: a timer of the service. */
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];
const AuditActorKindEnum = Object.fromEntries(AUDIT_ACTOR_KINDS.map((kind) => [kind, kind])) as { [K in AuditActorKind]: K };
registerEnumType(AuditActorKindEnum, {
  name: "AuditActorKind",
  description: "USER (signed in; actorRole says as what), SERVICE, EVENT (a saga handler; actorId is the event id), JOB (a timer), ANONYMOUS",
});

/** One audited operation. Never updated or deleted (a database trigger refuses both). */
@Directive("@shareable")
@ObjectType({ description: "One audited operation: who did what to which record, when, under which correlation id." })
@Entity({ tableName: "audit_log" })
@Index({ name: "audit_log_at_id_index", properties: ["at", "id"] })
@Index({ name: "audit_log_target_index", properties: ["targetType", "targetId"] })
@Index({ name: "audit_log_action_index", properties: ["action"] })
export class AuditEntry {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Field(() => Date)
  @Property({ type: "timestamptz", defaultRaw: "now()" })
  at: Opt<Date> = new Date();

  @Field({ description: "e.g. user.role_changed, stock.adjusted, order.cancelled, payment.refunded, wallet.topped_up" })
  @Property({ type: "text" })
  action: string;

  @Field({ description: "The kind of record acted on, e.g. User, Product, Order, Payment, Wallet." })
  @Property({ type: "text" })
  targetType: string;

  @Field()
  @Property({ type: "text" })
  targetId: string;

  @Field(() => AuditActorKindEnum)
  @Enum({ items: () => AUDIT_ACTOR_KINDS, type: "text" })
  actorKind: AuditActorKind;

  @Field({ description: "User id, service name, event id or job name, by actorKind." })
  @Property({ type: "text" })
  actorId: string;

  @Field(() => String, { nullable: true, description: "The user's role at the time (USER), or the event type (EVENT)." })
  @Property({ type: "text", nullable: true })
  actorRole: string | null = null;

  @Field({ description: "The order id for saga steps, else the request id of the GraphQL call." })
  @Property({ type: "text" })
  correlationId: string;

  @Field(() => GraphQLJSONObject, { description: "What changed: before/after values, amounts, reasons." })
  @Property({ type: "json", defaultRaw: "'{}'" })
  details: Opt<Record<string, unknown>> = {};

  constructor(init: Omit<AuditEntry, "id" | "at" | "actorRole" | "details"> & Partial<Pick<AuditEntry, "actorRole" | "details">>) {
    Object.assign(this, init);
  }
}

/** Creates `audit_log` and the trigger that makes it append-only. */
export class Migration20250101000100AuditLog extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "audit_log" (
        "id" uuid primary key,
        "at" timestamptz not null default now(),
        "action" text not null,
        "target_type" text not null,
        "target_id" text not null,
        "actor_kind" text not null check ("actor_kind" in ('USER', 'SERVICE', 'EVENT', 'JOB', 'ANONYMOUS')),
        "actor_id" text not null,
        "actor_role" text null,
        "correlation_id" text not null,
        "details" jsonb not null default '{}'
      );`);
    this.addSql(`create index "audit_log_at_id_index" on "audit_log" ("at", "id");`);
    this.addSql(`create index "audit_log_target_index" on "audit_log" ("target_type", "target_id");`);
    this.addSql(`create index "audit_log_action_index" on "audit_log" ("action");`);
    // A trigger rather than REVOKE: the service's role owns its database, and an owner can grant itself
    // back any privilege, but it cannot get past a trigger without an explicit, visible ALTER TABLE.
    this.addSql(`
      create function "audit_log_append_only"() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end
      $$;`);
    // Per statement, so even an UPDATE or DELETE that matches no row is refused.
    this.addSql(
      `create trigger "audit_log_no_update_delete" before update or delete on "audit_log" for each statement execute function "audit_log_append_only"();`,
    );
    this.addSql(
      `create trigger "audit_log_no_truncate" before truncate on "audit_log" for each statement execute function "audit_log_append_only"();`,
    );
  }
}

/** Included by `startSubgraph` in every subgraph, after the streams' and before the service's own. */
export const auditEntities = [AuditEntry];
export const auditMigrations = [{ name: "Migration20250101000100AuditLog", class: Migration20250101000100AuditLog }];

/**
 * Who caused an audited change: a GraphQL request (its caller, correlated by the
 * request id), a saga event (correlated by the event's correlation id, the order
 * id) or a job of the service.
 */
export type AuditSource =
  Pick<Context, "identity" | "requestId"> | { event: { id: string; type: string; correlationId: string } } | { job: string; correlationId: string };

export interface AuditRecord {
  /** Dotted past tense, e.g. `order.cancelled`. */
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
  /** Overrides the source's correlation id, e.g. the order id when a person cancels an order. */
  correlationId?: string;
}

function actorOf(source: AuditSource): Pick<AuditEntry, "actorKind" | "actorId" | "actorRole" | "correlationId"> {
  if ("event" in source)
    return { actorKind: "EVENT", actorId: source.event.id, actorRole: source.event.type, correlationId: source.event.correlationId };
  if ("job" in source) return { actorKind: "JOB", actorId: source.job, actorRole: null, correlationId: source.correlationId };
  const { identity, requestId } = source;
  if (!identity) return { actorKind: "ANONYMOUS", actorId: "anonymous", actorRole: null, correlationId: requestId };
  if (identity.kind === "service") return { actorKind: "SERVICE", actorId: identity.service, actorRole: null, correlationId: requestId };
  return { actorKind: "USER", actorId: identity.userId, actorRole: identity.role, correlationId: requestId };
}

/**
 * Appends an audit row in the caller's transaction (`tx` of `runtime.commit`, or
 * a handler's `ctx.em`): it is written when that transaction flushes, and lost
 * with it if the change rolls back.
 */
export function audit(tx: EntityManager, source: AuditSource, record: AuditRecord): AuditEntry {
  const actor = actorOf(source);
  const entry = new AuditEntry({
    ...actor,
    correlationId: record.correlationId ?? actor.correlationId,
    action: record.action,
    targetType: record.targetType,
    targetId: record.targetId,
    details: record.details ?? {},
  });
  tx.persist(entry);
  return entry;
}

@Directive("@shareable")
@ObjectType()
export class AuditEntryEdge {
  @Field()
  cursor: string;

  @Field(() => AuditEntry)
  node: AuditEntry;
}

@Directive("@shareable")
@ObjectType()
export class AuditEntryConnection implements ConnectionShape<AuditEntry> {
  @Field(() => [AuditEntryEdge])
  edges: AuditEntryEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int)
  totalCount: number;
}

@InputType({ description: "Every given field must match exactly." })
export class AuditLogFilter {
  @Field(() => String, { nullable: true })
  action?: string | null;

  @Field(() => String, { nullable: true })
  targetType?: string | null;

  @Field(() => String, { nullable: true })
  targetId?: string | null;

  @Field(() => String, { nullable: true })
  actorId?: string | null;

  @Field(() => String, { nullable: true })
  correlationId?: string | null;
}

const MAX_FILTER_LENGTH = 200;

/** One page of the audit log, newest first, with the count of all matching rows. */
export async function listAuditEntries(
  em: EntityManager,
  filter: AuditLogFilter | null | undefined,
  first?: number | null,
  after?: string | null,
  /** The list's name in its cursors: each service's log is its own list. */
  list = "audit",
): Promise<ConnectionShape<AuditEntry>> {
  const size = pageSize(first);
  const where: Record<string, unknown> = {};
  for (const key of ["action", "targetType", "targetId", "actorId", "correlationId"] as const) {
    const value = filter?.[key];
    // An empty value filters nothing, as an empty search or category does in the catalog.
    if (value === null || value === undefined || value === "") continue;
    if (value.length > MAX_FILTER_LENGTH) throw new BadUserInputError(`${key} must be at most ${MAX_FILTER_LENGTH} characters.`, `filter.${key}`);
    // Target and actor ids are stored as Postgres writes UUIDs: the same id in upper case finds the same
    // entries. A correlation id is an order id (lower case) or a request id kept as the client sent it:
    // either form matches.
    if (key === "targetId" || key === "actorId") where[key] = canonicalId(value);
    else if (key === "correlationId" && canonicalId(value) !== value) where[key] = { $in: [value, canonicalId(value)] };
    else where[key] = value;
  }
  const cursor = afterDateCursor(decodeCursor(after, list), "at");
  const [rows, total] = await Promise.all([
    em.find(AuditEntry, { ...where, ...cursor }, { orderBy: { at: "desc", id: "desc" }, limit: size + 1 }),
    em.count(AuditEntry, where),
  ]);
  return toConnection(rows, size, total, list, (entry) => ({ key: entry.at.toISOString(), id: entry.id }));
}

/**
 * The ADMIN-only query of a subgraph's audit log, as a resolver class to list in
 * the module's `resolvers`. Each subgraph names its field (`userAuditLog`,
 * `orderAuditLog`…): root fields of one name in several subgraphs would not compose.
 */
export function auditLogResolver(fieldName: string, service: string): ClassType {
  @Resolver()
  class AuditLogResolver {
    @Query(() => AuditEntryConnection, { name: fieldName, description: `The ${service} service's audit log, newest first (ADMIN).` })
    async auditLog(
      @Ctx() ctx: Context,
      @Arg("filter", () => AuditLogFilter, { nullable: true }) filter?: AuditLogFilter | null,
      @Arg("first", () => Int, { nullable: true }) first?: number | null,
      @Arg("after", () => String, { nullable: true }) after?: string | null,
    ): Promise<ConnectionShape<AuditEntry>> {
      requireRole(ctx, "ADMIN");
      return listAuditEntries(ctx.em, filter, first, after, fieldName);
    }
  }
  Object.defineProperty(AuditLogResolver, "name", { value: `${service}AuditLogResolver` });
  return AuditLogResolver;
}
