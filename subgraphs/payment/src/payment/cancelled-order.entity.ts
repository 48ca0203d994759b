import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";

/**
 * Tombstone of a cancelled order. Streams are not ordered across producers, so
 * `order.cancelled` can arrive before `inventory.reserved`: the tombstone makes
 * that late reservation a no-op instead of charging a cancelled order.
 */
@Entity({ tableName: "cancelled_orders" })
export class CancelledOrder {
  @PrimaryKey({ type: "text" })
  orderId: string;

  @Property({ type: "timestamptz" })
  cancelledAt: Opt<Date> = new Date();

  constructor(orderId: string) {
    this.orderId = orderId;
  }
}

/**
 * Serialises everything this service does for one order (charge, refund) with
 * a transaction-scoped advisory lock, so a cancellation racing a reservation on
 * another replica sees either the payment or the tombstone, never neither.
 */
export async function lockOrder(em: EntityManager, orderId: string): Promise<void> {
  await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`order:${orderId}`]);
}
