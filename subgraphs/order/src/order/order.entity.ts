import { randomUUID } from "node:crypto";
import { Entity, Enum, Index, PrimaryKey, Property, Unique, type Opt } from "@mikro-orm/core";
import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { assertNever, Money } from "@commerce/kit";
import { OrderStatus as OrderStatusContract } from "@commerce/schema";
import { UserRef } from "../federation/stubs";

/** The order statuses of the public API (mirrors the event contract, so both never drift apart). */
export type OrderStatus = OrderStatusContract;
export const ORDER_STATUSES = OrderStatusContract.options;
export const OrderStatusEnum = Object.fromEntries(ORDER_STATUSES.map((s) => [s, s])) as { [K in OrderStatus]: K };
registerEnumType(OrderStatusEnum, {
  name: "OrderStatus",
  description: "PENDING → STOCK_RESERVED → CONFIRMED → SHIPPED → COMPLETED; terminal failures OUT_OF_STOCK, PAYMENT_FAILED, CANCELLED.",
});

/** What can happen to an order: saga events (stock, payment) and people (cancel, ship, complete). */
export type OrderTrigger =
  | { type: "stock_reserved"; reason?: string }
  | { type: "stock_rejected"; reason: string }
  | { type: "payment_captured" }
  | { type: "payment_failed"; reason: string }
  | { type: "cancel"; reason: string; expired: boolean }
  | { type: "ship"; reason?: string }
  | { type: "complete"; reason?: string };

/** True for statuses no trigger ever leaves. */
export function isTerminal(status: OrderStatus): boolean {
  switch (status) {
    case "PENDING":
    case "STOCK_RESERVED":
    case "CONFIRMED":
    case "SHIPPED":
      return false;
    case "COMPLETED":
    case "CANCELLED":
    case "OUT_OF_STOCK":
    case "PAYMENT_FAILED":
      return true;
    default:
      return assertNever(status);
  }
}

/**
 * The status `trigger` moves an order in `from` to, or null when the order is
 * not (or no longer) in a state the trigger applies to. Null is how late,
 * duplicated and out-of-order events end up ignored instead of moving an order
 * backwards or out of a terminal state.
 */
export function nextStatus(from: OrderStatus, trigger: OrderTrigger): OrderStatus | null {
  switch (trigger.type) {
    case "stock_reserved":
      return from === "PENDING" ? "STOCK_RESERVED" : null;
    case "stock_rejected":
      return from === "PENDING" ? "OUT_OF_STOCK" : null;
    case "payment_captured":
      return from === "STOCK_RESERVED" ? "CONFIRMED" : null;
    case "payment_failed":
      return from === "STOCK_RESERVED" ? "PAYMENT_FAILED" : null;
    case "cancel":
      // Once shipped, the goods are gone: cancelling is no longer a status change.
      return from === "PENDING" || from === "STOCK_RESERVED" || from === "CONFIRMED" ? "CANCELLED" : null;
    case "ship":
      return from === "CONFIRMED" ? "SHIPPED" : null;
    case "complete":
      return from === "SHIPPED" ? "COMPLETED" : null;
    default:
      return assertNever(trigger);
  }
}

/** The reason recorded in the history and the events for a trigger (null when there is none). */
export function reasonOf(trigger: OrderTrigger): string | null {
  switch (trigger.type) {
    case "stock_rejected":
    case "payment_failed":
    case "cancel":
      return trigger.reason;
    // Every change says why, the saga's own steps too (ARCHITECTURE: "time, reason and causing event").
    case "stock_reserved":
      return trigger.reason ?? "stock reserved";
    case "ship":
    case "complete":
      return trigger.reason ?? null;
    case "payment_captured":
      return "payment captured";
    default:
      return assertNever(trigger);
  }
}

/** A customer's order: what was bought at which price, and where its saga stands. */
@Directive('@key(fields: "id")')
@ObjectType()
@Entity({ tableName: "orders" })
@Unique({ name: "orders_user_id_idempotency_key_unique", properties: ["userId", "idempotencyKey"] })
@Index({ name: "orders_user_id_created_at_index", properties: ["userId", "createdAt"] })
// `search` is a substring match on name: a trigram index serves ILIKE '%…%' without a scan.
@Index({ name: "orders_name_trgm_index", expression: 'create index "orders_name_trgm_index" on "orders" using gin ("name" gin_trgm_ops)' })
// The expiry job only ever looks at open sagas: a partial index keeps that lookup small as orders pile up.
@Index({
  name: "orders_open_created_at_index",
  expression: `create index "orders_open_created_at_index" on "orders" ("created_at") where "status" in ('PENDING', 'STOCK_RESERVED')`,
})
export class Order {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid" })
  userId: string;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  name: string | null;

  @Field(() => OrderStatusEnum)
  @Enum({ items: () => ORDER_STATUSES, type: "text" })
  status: Opt<OrderStatus> = "PENDING";

  @Field(() => String, { nullable: true, description: "Why the order is OUT_OF_STOCK or PAYMENT_FAILED." })
  @Property({ type: "text", nullable: true })
  failureReason: Opt<string> | null = null;

  @Property({ type: "integer" })
  totalAmount: number;

  @Property({ type: "text" })
  totalCurrency: string;

  @Property({ type: "text", nullable: true })
  idempotencyKey: string | null;

  @Field(() => Date)
  @Index({ name: "orders_created_at_index" })
  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  updatedAt: Opt<Date> = new Date();

  /** Bumped on every status change: lets a reader tell two snapshots of one order apart. */
  @Property({ type: "integer" })
  version: Opt<number> = 1;

  constructor(init: { userId: string; name: string | null; total: Money; idempotencyKey: string | null }) {
    this.userId = init.userId;
    this.name = init.name;
    this.totalAmount = init.total.amount;
    this.totalCurrency = init.total.currency;
    this.idempotencyKey = init.idempotencyKey;
  }

  @Field(() => Money)
  get total(): Money {
    return Money.of(this.totalAmount, this.totalCurrency);
  }

  @Field(() => UserRef, { description: "The customer; its fields come from the user subgraph." })
  get user(): UserRef {
    return UserRef.of(this.userId);
  }

  /**
   * Applies `trigger` if the machine allows it from the current status.
   * Returns the previous status on a change, or null when the trigger does not
   * apply (the caller decides whether that is a CONFLICT or an ignored event).
   */
  apply(trigger: OrderTrigger, at: Date): { previousStatus: OrderStatus; status: OrderStatus } | null {
    const next = nextStatus(this.status, trigger);
    if (!next) return null;
    const previousStatus = this.status;
    this.status = next;
    if (trigger.type === "stock_rejected" || trigger.type === "payment_failed") this.failureReason = trigger.reason;
    this.updatedAt = at;
    this.version += 1;
    return { previousStatus, status: next };
  }
}
