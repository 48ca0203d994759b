import { Entity, PrimaryKey, Property } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { LockMode } from "@mikro-orm/core";

/**
 * What this service has seen of a cancelled order's two events, which travel
 * on different streams and so arrive in either order: `order.cancelled`
 * (order stream) and `payment.refunded` (payment stream). Whichever comes
 * second decides how the refund is told: inside the cancellation message when
 * the refund came first, as a separate refund message when it came after.
 */
@Entity({ tableName: "order_cancellations" })
export class OrderCancellation {
  @PrimaryKey({ type: "text" })
  orderId: string;

  @Property({ type: "boolean" })
  cancelled = false;

  @Property({ type: "integer", nullable: true })
  refundAmount: number | null = null;

  @Property({ type: "text", nullable: true })
  refundCurrency: string | null = null;

  constructor(orderId: string) {
    this.orderId = orderId;
  }

  get refund(): { amount: number; currency: string } | null {
    return this.refundAmount === null || this.refundCurrency === null ? null : { amount: this.refundAmount, currency: this.refundCurrency };
  }
}

/** The order's row, created if needed and locked until the transaction ends (both handlers take it first). */
export async function lockCancellation(em: EntityManager, orderId: string): Promise<OrderCancellation> {
  await em.execute(`insert into order_cancellations (order_id, cancelled) values (?, false) on conflict do nothing`, [orderId]);
  return em.findOneOrFail(OrderCancellation, { orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
}
