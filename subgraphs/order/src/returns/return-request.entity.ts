import { randomUUID } from "node:crypto";
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, type Opt, type Ref } from "@mikro-orm/core";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "@commerce/kit";
import { ReturnStatus as ReturnStatusContract } from "@commerce/schema";
import { ProductRef } from "../federation/stubs";
import { Order } from "../order/order.entity";

/** The return statuses of the public API (mirrors the event contract). */
export type ReturnStatus = ReturnStatusContract;
export const RETURN_STATUSES = ReturnStatusContract.options;
export const ReturnStatusEnum = Object.fromEntries(RETURN_STATUSES.map((s) => [s, s])) as { [K in ReturnStatus]: K };
registerEnumType(ReturnStatusEnum, {
  name: "ReturnStatus",
  description: "REQUESTED → APPROVED → RECEIVED → REFUNDED, or REQUESTED → REJECTED.",
});

/** Units of one product sent back, at the price the order paid for them. */
export interface StoredReturnLine {
  productId: string;
  quantity: number;
  unitPriceAmount: number;
  unitPriceCurrency: string;
}

@ObjectType()
export class ReturnLine {
  @Field(() => ProductRef, { description: "The product; its fields come from the product subgraph." })
  product: ProductRef;

  @Field(() => Int)
  quantity: number;

  @Field(() => Money, { description: "What the order paid for one unit." })
  unitPrice: Money;

  static of(line: StoredReturnLine): ReturnLine {
    return Object.assign(new ReturnLine(), {
      product: ProductRef.of(line.productId),
      quantity: line.quantity,
      unitPrice: Money.of(line.unitPriceAmount, line.unitPriceCurrency),
    });
  }
}

/** A customer's request to send back some units of a shipped order, and how far STAFF took it. */
@ObjectType()
@Entity({ tableName: "return_requests" })
@Index({ name: "return_requests_status_created_at_index", properties: ["status", "createdAt"] })
export class ReturnRequest {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Index({ name: "return_requests_order_id_index" })
  @ManyToOne(() => Order, { ref: true, deleteRule: "cascade" })
  order: Ref<Order>;

  @Property({ type: "uuid" })
  userId: string;

  @Field(() => ReturnStatusEnum)
  @Enum({ items: () => RETURN_STATUSES, type: "text" })
  status: Opt<ReturnStatus> = "REQUESTED";

  @Property({ type: "json", fieldName: "lines" })
  storedLines: StoredReturnLine[];

  @Field(() => String, { description: "Why the customer sends the goods back." })
  @Property({ type: "text" })
  reason: string;

  /** Where the goods were received (RECEIVED and after). */
  @Property({ type: "uuid", nullable: true })
  warehouseId: Opt<string> | null = null;

  @Property({ type: "integer", nullable: true })
  refundAmount: Opt<number> | null = null;

  @Property({ type: "text", nullable: true })
  refundCurrency: Opt<string> | null = null;

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Property({ type: "timestamptz" })
  updatedAt: Opt<Date> = new Date();

  constructor(init: { order: Ref<Order>; userId: string; lines: StoredReturnLine[]; reason: string }) {
    this.order = init.order;
    this.userId = init.userId;
    this.storedLines = init.lines;
    this.reason = init.reason;
  }

  get orderId(): string {
    return this.order.id;
  }

  @Field(() => [ReturnLine])
  get lines(): ReturnLine[] {
    return this.storedLines.map((line) => ReturnLine.of(line));
  }

  @Field(() => Money, { nullable: true, description: "What went back to the wallet; null until REFUNDED." })
  get refund(): Money | null {
    return this.refundAmount === null || this.refundCurrency === null ? null : Money.of(this.refundAmount, this.refundCurrency);
  }

  /** The price of the returned units: what receiving them asks payment to refund. */
  get value(): Money {
    const amount = this.storedLines.reduce((sum, line) => sum + line.quantity * line.unitPriceAmount, 0);
    return Money.of(amount, this.storedLines[0].unitPriceCurrency);
  }
}

/** One entry of a return's history: what it became, when, why, and who or which event moved it. */
@ObjectType("StatusChange")
@Entity({ tableName: "return_status_changes" })
export class ReturnStatusChange {
  /** A sequence, so history sorts in the order it was written even within one millisecond. */
  @PrimaryKey({ type: "bigint", autoincrement: true })
  id: string;

  @Index({ name: "return_status_changes_return_id_index" })
  @ManyToOne(() => ReturnRequest, { ref: true, deleteRule: "cascade", fieldName: "return_id" })
  returnRequest: Ref<ReturnRequest>;

  @Field(() => ReturnStatusEnum)
  @Enum({ items: () => RETURN_STATUSES, type: "text" })
  status: ReturnStatus;

  @Enum({ items: () => RETURN_STATUSES, type: "text", nullable: true })
  previousStatus: ReturnStatus | null;

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  at: Date;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  reason: string | null;

  @Property({ type: "uuid", nullable: true })
  causeEventId: string | null;

  @Property({ type: "text", nullable: true })
  actor: string | null;

  constructor(init: {
    returnRequest: Ref<ReturnRequest>;
    status: ReturnStatus;
    previousStatus: ReturnStatus | null;
    at: Date;
    reason: string | null;
    causeEventId: string | null;
    actor: string | null;
  }) {
    this.returnRequest = init.returnRequest;
    this.status = init.status;
    this.previousStatus = init.previousStatus;
    this.at = init.at;
    this.reason = init.reason;
    this.causeEventId = init.causeEventId;
    this.actor = init.actor;
  }
}
