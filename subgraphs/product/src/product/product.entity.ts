import { randomUUID } from "node:crypto";
import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique, type Opt } from "@mikro-orm/core";
import { Directive, Field, ID, Int, ObjectType } from "type-graphql";
import { INHERIT_CACHE_HINT, Money } from "@commerce/kit";
import { Category } from "../category/category.entity";

/** A free-form product property such as `colour: red`. */
@Directive(INHERIT_CACHE_HINT)
@ObjectType()
export class ProductAttribute {
  @Field()
  name: string;

  @Field()
  value: string;
}

/** The text `products(filter: { search })` matches; the trigram index in the migration is built on exactly this expression. */
export const SEARCH_DOCUMENT = `(sku || ' ' || name || ' ' || coalesce(description, ''))`;

/**
 * A catalog entry. Deleting one only deactivates it: orders placed earlier
 * still reference it (the gateway resolves their `items.product`), so the row
 * stays. `available`, `stock` and `category` are resolved through DataLoaders
 * in ProductFieldsResolver.
 */
@Directive('@key(fields: "id")')
@Directive(INHERIT_CACHE_HINT)
@ObjectType()
@Entity({ tableName: "products" })
@Index({ name: "products_name_id_index", properties: ["name", "id"] })
@Index({ name: "products_price_id_index", properties: ["priceAmount", "id"] })
@Index({ name: "products_created_id_index", properties: ["createdAt", "id"] })
@Index({
  name: "products_search_trgm_index",
  expression: `create index "products_search_trgm_index" on "products" using gin (${SEARCH_DOCUMENT} gin_trgm_ops)`,
})
// SKUs are unique whatever their case, as warehouse codes are, but each keeps the case it was given.
@Unique({ name: "products_sku_lower_unique", expression: `create unique index "products_sku_lower_unique" on "products" (lower("sku"))` })
export class Product {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Field()
  @Property({ type: "text" })
  sku: string;

  @Field()
  @Property({ type: "text" })
  name: string;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  description: Opt<string> | null = null;

  @Property({ type: "integer" })
  priceAmount: number;

  @Property({ type: "text" })
  priceCurrency: string;

  @ManyToOne(() => Category, { nullable: true, deleteRule: "set null", index: true })
  category: Category | null = null;

  @Field(() => [ProductAttribute])
  @Property({ type: "json" })
  attributes: Opt<ProductAttribute[]> = [];

  @Field(() => Int, { description: "inventory.low_stock is emitted when available falls to or below this." })
  @Property({ type: "integer" })
  lowStockThreshold: Opt<number> = 0;

  @Field(() => Boolean, { description: "false once deleted: hidden from customers, still resolvable for old orders." })
  @Property({ type: "boolean" })
  active: Opt<boolean> = true;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Opt<Date> = new Date();

  constructor(init: { sku: string; name: string; price: Money; description?: string | null; category?: Category | null }) {
    this.sku = init.sku.trim();
    this.name = init.name.trim();
    this.setDescription(init.description);
    this.category = init.category ?? null;
    this.setPrice(init.price);
  }

  /** Stored trimmed, as the name is; a blank description is no description (null), not "   ". */
  setDescription(description: string | null | undefined): void {
    this.description = description?.trim() || null;
  }

  @Field(() => Money)
  get price(): Money {
    return Money.of(this.priceAmount, this.priceCurrency);
  }

  setPrice(price: Money): void {
    this.priceAmount = price.amount;
    this.priceCurrency = price.currency;
  }

  /** Soft delete; returns false when it was already deleted (nothing to announce). */
  deactivate(): boolean {
    if (!this.active) return false;
    this.active = false;
    return true;
  }

  /** The `product.upserted` payload: what other services replicate of a product. */
  /** The category must be loaded when set (`populate(product, ["category"])`): consumers learn its name from here. */
  toUpsertedPayload() {
    const category = this.category ? { categoryId: this.category.id, categoryName: this.category.name } : { categoryId: null, categoryName: null };
    return {
      productId: this.id,
      sku: this.sku,
      name: this.name,
      price: { amount: this.priceAmount, currency: this.priceCurrency },
      active: this.active,
      ...category,
    };
  }
}
