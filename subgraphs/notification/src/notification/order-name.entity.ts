import { Entity, PrimaryKey, Property } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";

/**
 * What the customer called an order (`PlaceOrderInput.name`), as `order.placed` told it: messages about
 * the order use it (`{{orderName}}`) instead of its id. Orders placed without a name have no row.
 */
@Entity({ tableName: "order_names" })
export class OrderName {
  @PrimaryKey({ type: "text" })
  orderId: string;

  @Property({ type: "text" })
  name: string;

  constructor(orderId: string, name: string) {
    this.orderId = orderId;
    this.name = name;
  }
}

/** Records an order's name once (a redelivered `order.placed` changes nothing). */
export async function rememberOrderName(em: EntityManager, orderId: string, name: string | null | undefined): Promise<void> {
  const trimmed = name?.trim();
  if (!trimmed) return;
  await em.execute(`insert into order_names (order_id, name) values (?, ?) on conflict (order_id) do nothing`, [orderId, trimmed]);
}
