import { randomUUID } from "node:crypto";
import { Entity, Enum, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { assertNever, Money } from "@commerce/kit";

export const PAYMENT_STATUSES = ["CAPTURED", "FAILED", "REFUNDED"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const PaymentStatusEnum = Object.fromEntries(PAYMENT_STATUSES.map((s) => [s, s])) as { [K in PaymentStatus]: K };
registerEnumType(PaymentStatusEnum, { name: "PaymentStatus" });

/**
 * The one payment of an order (the unique `orderId` makes a second one
 * impossible, whatever envelope the event came in). CAPTURED → REFUNDED is the
 * only transition; FAILED is final.
 */
@Directive('@key(fields: "id")')
@ObjectType()
@Entity({ tableName: "payments" })
export class Payment {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "text", unique: true })
  orderId: string;

  @Property({ type: "text", index: true })
  userId: string;

  @Property({ type: "integer" })
  amountMinor: number;

  @Property({ type: "text" })
  currency: string;

  @Field(() => PaymentStatusEnum)
  @Enum({ items: () => PAYMENT_STATUSES, type: "text" })
  status: PaymentStatus;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  failureReason: string | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Property({ type: "timestamptz", nullable: true })
  refundedAt: Date | null = null;

  private constructor(id: string, orderId: string, userId: string, amount: Money, status: PaymentStatus, failureReason: string | null) {
    this.id = id;
    this.orderId = orderId;
    this.userId = userId;
    this.amountMinor = amount.amount;
    this.currency = amount.currency;
    this.status = status;
    this.failureReason = failureReason;
  }

  /** The payment of an order whose total was debited (`id` is already on the wallet entry). */
  static captured(id: string, orderId: string, userId: string, amount: Money): Payment {
    return new Payment(id, orderId, userId, amount, "CAPTURED", null);
  }

  static failed(orderId: string, userId: string, amount: Money, reason: string): Payment {
    return new Payment(randomUUID(), orderId, userId, amount, "FAILED", reason);
  }

  @Field(() => Money)
  get amount(): Money {
    return Money.of(this.amountMinor, this.currency);
  }

  /** Marks a captured payment refunded; true when money must go back (false when there is nothing to refund). */
  refund(at = new Date()): boolean {
    switch (this.status) {
      case "CAPTURED":
        this.status = "REFUNDED";
        this.refundedAt = at;
        return true;
      case "REFUNDED":
      case "FAILED":
        return false;
      default:
        return assertNever(this.status);
    }
  }
}
