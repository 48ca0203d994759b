import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";

/**
 * The refund of one received return (0 when nothing was left to refund). One row per return makes the
 * refund happen once, and the rows of an order are what caps the next one: an order's return refunds
 * never add up to more than its capture.
 */
@Entity({ tableName: "return_refunds" })
export class ReturnRefund {
  @PrimaryKey({ type: "uuid" })
  returnId: string;

  @Property({ type: "text", index: true })
  orderId: string;

  @Property({ type: "uuid", nullable: true })
  paymentId: string | null;

  @Property({ type: "integer" })
  amountMinor: number;

  @Property({ type: "text" })
  currency: string;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(init: { returnId: string; orderId: string; paymentId: string | null; amountMinor: number; currency: string }) {
    this.returnId = init.returnId;
    this.orderId = init.orderId;
    this.paymentId = init.paymentId;
    this.amountMinor = init.amountMinor;
    this.currency = init.currency;
  }
}

/** What returns of `orderId` have refunded so far. */
export async function refundedByReturns(em: EntityManager, orderId: string): Promise<number> {
  const [row] = await em.execute<{ total: string | null }[]>(`select sum(amount_minor) as total from return_refunds where order_id = ?`, [orderId]);
  return Number(row?.total ?? 0);
}
