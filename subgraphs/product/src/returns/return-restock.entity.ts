import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";

/**
 * A received return put back on the shelf, one row per return: the row is what makes the restock
 * happen once, whatever envelope or replica `return.received` comes in, and what `npm run reconcile`
 * compares with the units returned.
 */
@Entity({ tableName: "return_restocks" })
export class ReturnRestock {
  @PrimaryKey({ type: "uuid" })
  returnId: string;

  @Property({ type: "uuid", index: true })
  orderId: string;

  @Property({ type: "uuid" })
  warehouseId: string;

  @Property({ type: "json" })
  lines: { productId: string; quantity: number }[];

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(init: { returnId: string; orderId: string; warehouseId: string; lines: { productId: string; quantity: number }[] }) {
    this.returnId = init.returnId;
    this.orderId = init.orderId;
    this.warehouseId = init.warehouseId;
    this.lines = init.lines;
  }
}
