import { Entity, PrimaryKey, Property } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { LockMode } from "@mikro-orm/core";
import { formatMoney } from "@commerce/kit";
import { notify, nameOf } from "./notify";

/**
 * What this service has seen of a cancelled order's two events, which travel
 * on different streams and so arrive in either order: `order.cancelled`
 * (order stream) and `payment.refunded` (payment stream). Whichever comes
 * second decides how the refund is told: inside the cancellation message when
 * the refund came first, as a separate refund message when it came after.
 * A paid (CONFIRMED) order is certain to be refunded, so its cancellation waits
 * for the refund (`awaitingRefundReason`) and both are told in one message.
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

  /** Set while a paid order's cancellation waits for its refund to be told with it: the cancellation's reason. */
  @Property({ type: "text", nullable: true })
  awaitingRefundReason: string | null = null;

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

/** The customer's cancellation message, with the refund sentence when the refund is known. */
export function tellCancellation(
  em: EntityManager,
  eventId: string,
  cancellation: { orderId: string; userId: string; reason: string; refund: { amount: number; currency: string } | null },
): Promise<number> {
  const { orderId, userId, reason, refund } = cancellation;
  return notify(em, {
    eventId,
    template: "order_cancelled",
    userIds: [userId],
    orderId,
    data: (recipient) => ({
      name: nameOf(recipient),
      orderId,
      reason,
      refund: refund ? `We refunded ${formatMoney(refund)} to your wallet.` : "",
    }),
  });
}
