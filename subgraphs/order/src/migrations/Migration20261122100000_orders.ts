import { Migration } from "@mikro-orm/migrations";

const STATUSES = `('PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'SHIPPED', 'COMPLETED', 'CANCELLED', 'OUT_OF_STOCK', 'PAYMENT_FAILED')`;

/** Orders, their items and status history, and the local catalog replica. */
export class Migration20261122100000_orders extends Migration {
  override async up(): Promise<void> {
    // Trusted extension since Postgres 13: the service role owning its database may create it.
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`
      create table "catalog_products" (
        "id" uuid not null,
        "sku" text not null,
        "name" text not null,
        "price_amount" int not null,
        "price_currency" text not null,
        "active" boolean not null,
        "updated_at" timestamptz not null,
        constraint "catalog_products_pkey" primary key ("id")
      );`);
    this.addSql(`
      create table "orders" (
        "id" uuid not null,
        "user_id" uuid not null,
        "name" text null,
        "status" text check ("status" in ${STATUSES}) not null,
        "failure_reason" text null,
        "total_amount" int not null,
        "total_currency" text not null,
        "idempotency_key" text null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        "version" int not null,
        constraint "orders_pkey" primary key ("id")
      );`);
    this.addSql(`create index "orders_created_at_index" on "orders" ("created_at");`);
    this.addSql(`create index "orders_user_id_created_at_index" on "orders" ("user_id", "created_at");`);
    this.addSql(`create index "orders_name_trgm_index" on "orders" using gin ("name" gin_trgm_ops);`);
    this.addSql(`create index "orders_open_created_at_index" on "orders" ("created_at") where "status" in ('PENDING', 'STOCK_RESERVED');`);
    // One order per (user, key): what makes placeOrder idempotent even under a race.
    this.addSql(`alter table "orders" add constraint "orders_user_id_idempotency_key_unique" unique ("user_id", "idempotency_key");`);
    this.addSql(`
      create table "order_items" (
        "id" uuid not null,
        "order_id" uuid not null,
        "line" int not null,
        "product_id" uuid not null,
        "quantity" int not null,
        "unit_price_amount" int not null,
        "unit_price_currency" text not null,
        constraint "order_items_pkey" primary key ("id")
      );`);
    this.addSql(`create index "order_items_order_id_index" on "order_items" ("order_id");`);
    this.addSql(`
      create table "order_status_changes" (
        "id" bigserial primary key,
        "order_id" uuid not null,
        "status" text check ("status" in ${STATUSES}) not null,
        "previous_status" text check ("previous_status" in ${STATUSES}) null,
        "at" timestamptz not null,
        "reason" text null,
        "cause_event_id" uuid null,
        "actor" text null
      );`);
    this.addSql(`create index "order_status_changes_order_id_index" on "order_status_changes" ("order_id");`);
    this.addSql(
      `alter table "order_items" add constraint "order_items_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "order_status_changes" add constraint "order_status_changes_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`,
    );
  }
}
