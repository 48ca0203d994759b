import { randomUUID } from "node:crypto";
import { Entity, Index, ManyToOne, PrimaryKey, Property, type Ref } from "@mikro-orm/core";
import { Field, Int, ObjectType } from "type-graphql";
import { Money } from "@commerce/kit";
import { ProductRef } from "../federation/stubs";
import { Order } from "./order.entity";

/** One line of an order, priced from the catalog at placement (later price changes do not touch it). */
@ObjectType()
@Entity({ tableName: "order_items" })
export class OrderItem {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Index({ name: "order_items_order_id_index" })
  @ManyToOne(() => Order, { ref: true, deleteRule: "cascade" })
  order: Ref<Order>;

  /** Position in the placed input, so items come back in the order the customer gave them. */
  @Property({ type: "integer" })
  line: number;

  @Property({ type: "uuid" })
  productId: string;

  @Field(() => Int)
  @Property({ type: "integer" })
  quantity: number;

  @Property({ type: "integer" })
  unitPriceAmount: number;

  @Property({ type: "text" })
  unitPriceCurrency: string;

  constructor(order: Ref<Order>, line: number, productId: string, quantity: number, unitPrice: Money) {
    this.order = order;
    this.line = line;
    this.productId = productId;
    this.quantity = quantity;
    this.unitPriceAmount = unitPrice.amount;
    this.unitPriceCurrency = unitPrice.currency;
  }

  @Field(() => Money, { description: "The catalog price when the order was placed." })
  get unitPrice(): Money {
    return Money.of(this.unitPriceAmount, this.unitPriceCurrency);
  }

  @Field(() => ProductRef, { description: "The product; its fields come from the product subgraph." })
  get product(): ProductRef {
    return ProductRef.of(this.productId);
  }
}
