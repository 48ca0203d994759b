import { Entity, Index, Enum, ManyToOne, PrimaryKey, Property, type Ref } from "@mikro-orm/core";
import { Field, ObjectType } from "type-graphql";
import { ORDER_STATUSES, Order, OrderStatusEnum, type OrderStatus } from "./order.entity";

/** One entry of an order's status history: what it became, when, why, and which event caused it. */
@ObjectType()
@Entity({ tableName: "order_status_changes" })
export class OrderStatusChange {
  /** A sequence, so history sorts in the order it was written even within one millisecond. */
  @PrimaryKey({ type: "bigint", autoincrement: true })
  id: string;

  @Index({ name: "order_status_changes_order_id_index" })
  @ManyToOne(() => Order, { ref: true, deleteRule: "cascade" })
  order: Ref<Order>;

  @Field(() => OrderStatusEnum)
  @Enum({ items: () => ORDER_STATUSES, type: "text" })
  status: OrderStatus;

  @Enum({ items: () => ORDER_STATUSES, type: "text", nullable: true })
  previousStatus: OrderStatus | null;

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  at: Date;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  reason: string | null;

  /** The saga event that caused the change; null for a person's action (placement, cancel, ship, complete). */
  @Property({ type: "uuid", nullable: true })
  causeEventId: string | null;

  /** Who acted, for changes made by a person or by the expiry job (`system:saga-deadline`). */
  @Property({ type: "text", nullable: true })
  actor: string | null;

  constructor(init: {
    order: Ref<Order>;
    status: OrderStatus;
    previousStatus: OrderStatus | null;
    at: Date;
    reason: string | null;
    causeEventId: string | null;
    actor: string | null;
  }) {
    this.order = init.order;
    this.status = init.status;
    this.previousStatus = init.previousStatus;
    this.at = init.at;
    this.reason = init.reason;
    this.causeEventId = init.causeEventId;
    this.actor = init.actor;
  }
}
