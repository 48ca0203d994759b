import { Migration } from "@mikro-orm/migrations";

/**
 * Catalog (categories, products), inventory (warehouses, stock levels,
 * adjustments, low-stock markers) and the saga's reservations.
 * Kept in step with the entities: `schema.int.test.ts` fails when they differ.
 */
export class Migration20261122100000_catalog_inventory extends Migration {
  override async up(): Promise<void> {
    // Trusted extension since Postgres 13: the database owner (our service role) may create it.
    this.addSql(`create extension if not exists pg_trgm;`);

    this.addSql(`
      create table "categories" (
        "id" uuid not null,
        "name" text not null,
        "parent_id" uuid null,
        "created_at" timestamptz not null,
        constraint "categories_pkey" primary key ("id"),
        constraint "categories_parent_id_foreign" foreign key ("parent_id") references "categories" ("id") on update cascade on delete restrict
      );`);
    this.addSql(`create index "categories_parent_id_index" on "categories" ("parent_id");`);

    this.addSql(`
      create table "products" (
        "id" uuid not null,
        "sku" text not null,
        "name" text not null,
        "description" text null,
        "price_amount" int not null,
        "price_currency" text not null,
        "category_id" uuid null,
        "attributes" jsonb not null,
        "low_stock_threshold" int not null,
        "active" boolean not null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        constraint "products_pkey" primary key ("id"),
        constraint "products_sku_unique" unique ("sku"),
        constraint "products_category_id_foreign" foreign key ("category_id") references "categories" ("id") on update cascade on delete set null
      );`);
    this.addSql(`create index "products_category_id_index" on "products" ("category_id");`);
    this.addSql(`create index "products_name_id_index" on "products" ("name", "id");`);
    // The exact expression `products(filter: { search })` matches with ILIKE: the index answers '%term%'.
    this.addSql(
      `create index "products_search_trgm_index" on "products" using gin ((sku || ' ' || name || ' ' || coalesce(description, '')) gin_trgm_ops);`,
    );

    this.addSql(`
      create table "warehouses" (
        "id" uuid not null,
        "code" text not null,
        "name" text not null,
        "created_at" timestamptz not null,
        constraint "warehouses_pkey" primary key ("id"),
        constraint "warehouses_code_unique" unique ("code")
      );`);

    this.addSql(`
      create table "stock_levels" (
        "id" uuid not null,
        "product_id" uuid not null,
        "warehouse_id" uuid not null,
        "on_hand" int not null default 0,
        "reserved" int not null default 0,
        constraint "stock_levels_pkey" primary key ("id"),
        constraint "stock_levels_product_id_warehouse_id_unique" unique ("product_id", "warehouse_id"),
        constraint "stock_levels_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade,
        constraint "stock_levels_warehouse_id_foreign" foreign key ("warehouse_id") references "warehouses" ("id") on update cascade on delete cascade,
        constraint "stock_levels_reserved_check" check (reserved >= 0),
        constraint "stock_levels_on_hand_check" check (on_hand >= reserved)
      );`);
    this.addSql(`create index "stock_levels_warehouse_id_index" on "stock_levels" ("warehouse_id");`);

    this.addSql(`
      create table "stock_adjustments" (
        "id" uuid not null,
        "product_id" uuid not null,
        "warehouse_id" uuid not null,
        "delta" int not null,
        "reason" text not null,
        "actor" text not null,
        "created_at" timestamptz not null,
        constraint "stock_adjustments_pkey" primary key ("id")
      );`);
    this.addSql(`create index "stock_adjustments_product_id_index" on "stock_adjustments" ("product_id");`);

    this.addSql(`
      create table "low_stock_markers" (
        "product_id" uuid not null,
        "low" boolean not null default true,
        "changed_at" timestamptz not null,
        constraint "low_stock_markers_pkey" primary key ("product_id")
      );`);

    this.addSql(`
      create table "reservations" (
        "order_id" text not null,
        "user_id" text not null,
        "status" text not null check ("status" in ('RESERVED', 'COMMITTED', 'RELEASED', 'RESTOCKED', 'REJECTED', 'CANCELLED')),
        "lines" jsonb not null,
        "reason" text null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        constraint "reservations_pkey" primary key ("order_id")
      );`);
  }
}
