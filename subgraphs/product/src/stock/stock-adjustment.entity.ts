import { randomUUID } from "node:crypto";
import { Entity, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";

/** Audit trail of `adjustStock`: who changed which stock by how much, and why. */
@Entity({ tableName: "stock_adjustments" })
@Index({ name: "stock_adjustments_product_id_index", properties: ["productId"] })
export class StockAdjustment {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid" })
  productId: string;

  @Property({ type: "uuid" })
  warehouseId: string;

  @Property({ type: "integer" })
  delta: number;

  @Property({ type: "text" })
  reason: string;

  /** The user id (or service name) that made the change. */
  @Property({ type: "text" })
  actor: string;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(init: { productId: string; warehouseId: string; delta: number; reason: string; actor: string }) {
    Object.assign(this, init);
  }
}
