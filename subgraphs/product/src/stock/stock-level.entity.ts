import { randomUUID } from "node:crypto";
import { Check, Entity, ManyToOne, PrimaryKey, Property, Unique, type Opt } from "@mikro-orm/core";
import { Field, Int, ObjectType } from "type-graphql";
import { BadUserInputError } from "@commerce/kit";
import { Product } from "../product/product.entity";
import { Warehouse } from "../warehouse/warehouse.entity";

/**
 * The most units of one product `adjustStock` may bring on hand, in one warehouse and over all of them
 * together. `on_hand` is a Postgres integer and `available` (the sum over warehouses) a GraphQL Int,
 * both 32-bit (2,147,483,647); the cap stays well below that because restocking a cancelled paid order
 * puts units back that an adjustment may have replaced meanwhile: the ~1.1 billion between the cap and
 * the 32-bit limit is room for those, and a restock is never refused.
 */
export const MAX_ON_HAND = 1_000_000_000;

/**
 * Stock of one product in one warehouse. `reserved` units are held for orders
 * that are not paid yet; `onHand - reserved` can be sold. The CHECK
 * constraints repeat the invariants so that no code path (or manual SQL) can
 * oversell. Callers change rows only while holding their row locks
 * (see `lockStock`).
 */
@ObjectType()
@Entity({ tableName: "stock_levels" })
@Unique({ name: "stock_levels_product_id_warehouse_id_unique", properties: ["product", "warehouse"] })
@Check({ name: "stock_levels_reserved_check", expression: "reserved >= 0" })
@Check({ name: "stock_levels_on_hand_check", expression: "on_hand >= reserved" })
export class StockLevel {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @ManyToOne(() => Product, { deleteRule: "cascade" })
  product: Product;

  @ManyToOne(() => Warehouse, { deleteRule: "cascade", index: true })
  warehouse: Warehouse;

  @Field(() => Int)
  @Property({ type: "integer" })
  onHand: Opt<number> = 0;

  @Field(() => Int)
  @Property({ type: "integer" })
  reserved: Opt<number> = 0;

  constructor(product: Product, warehouse: Warehouse) {
    this.product = product;
    this.warehouse = warehouse;
  }

  get available(): number {
    return this.onHand - this.reserved;
  }

  /**
   * A stock count correction or a delivery; never below what is reserved for
   * orders, never above {@link MAX_ON_HAND} for the product as a whole.
   * `onHandElsewhere`: the product's on-hand in its other warehouses, read from
   * rows locked with this one.
   */
  adjust(delta: number, onHandElsewhere: number): void {
    if (this.onHand + delta < this.reserved) {
      throw new BadUserInputError(
        `delta ${delta} would leave ${this.onHand + delta} on hand, below the ${this.reserved} units reserved for orders; the smallest allowed delta is ${this.reserved - this.onHand}.`,
        "delta",
      );
    }
    const total = onHandElsewhere + this.onHand + delta;
    if (total > MAX_ON_HAND) {
      throw new BadUserInputError(
        `delta ${delta} would bring this product's on-hand stock over all warehouses to ${total}, above the maximum of ${MAX_ON_HAND}; the largest allowed delta is ${MAX_ON_HAND - onHandElsewhere - this.onHand}.`,
        "delta",
      );
    }
    this.onHand += delta;
  }

  /** Holds units for an order; the caller has checked they are available. */
  reserve(quantity: number): void {
    if (quantity > this.available) throw new Error(`cannot reserve ${quantity}: only ${this.available} available`);
    this.reserved += quantity;
  }

  /** An unpaid order gave its units back. */
  release(quantity: number): void {
    this.reserved = Math.max(0, this.reserved - quantity);
  }

  /** A paid order takes its units out of the warehouse. */
  commit(quantity: number): void {
    const taken = Math.min(quantity, this.reserved);
    this.reserved -= taken;
    this.onHand -= taken;
  }

  /** A cancelled paid order puts its units back on the shelf. */
  restock(quantity: number): void {
    this.onHand += quantity;
  }
}
