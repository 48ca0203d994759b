import { Entity, PrimaryKey, Property } from "@mikro-orm/core";
import { Money } from "@commerce/kit";

/**
 * The order service's copy of what it needs of a catalog product (price and
 * whether it can be sold). Fed by `product.upserted`, and filled on demand
 * from the product subgraph when a placement names a product not seen yet.
 */
@Entity({ tableName: "catalog_products" })
export class CatalogProduct {
  @PrimaryKey({ type: "uuid" })
  id: string;

  @Property({ type: "text" })
  sku: string;

  @Property({ type: "text" })
  name: string;

  @Property({ type: "integer" })
  priceAmount: number;

  @Property({ type: "text" })
  priceCurrency: string;

  @Property({ type: "boolean" })
  active: boolean;

  /** When the catalog state copied here was true: an older update arriving late must not overwrite it. */
  @Property({ type: "timestamptz" })
  updatedAt: Date;

  get price(): Money {
    return Money.of(this.priceAmount, this.priceCurrency);
  }
}
