import { Migration } from "@mikro-orm/migrations";

/** The sales analytics projection (fed by the `analytics` consumer group, rebuilt by `npm run analytics -- rebuild`). Additive. */
export class Migration20261207130000_analytics extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists analytics_orders (
      order_id uuid primary key,
      user_id uuid,
      placed_at timestamptz,
      status text,
      status_at timestamptz,
      confirmed_at timestamptz,
      total_amount bigint,
      currency text
    );`);
    this.addSql(`create index if not exists analytics_orders_placed_at on analytics_orders (placed_at);`);
    this.addSql(`create table if not exists analytics_order_lines (
      order_id uuid not null,
      product_id uuid not null,
      quantity int not null,
      unit_amount bigint not null,
      primary key (order_id, product_id)
    );`);
    this.addSql(`create table if not exists analytics_return_lines (
      return_id uuid not null,
      product_id uuid not null,
      quantity int not null,
      unit_amount bigint not null,
      primary key (return_id, product_id)
    );`);
    this.addSql(`create table if not exists analytics_money (
      key text primary key,
      kind text not null check (kind in ('CAPTURE', 'REFUND')),
      order_id uuid not null,
      return_id uuid,
      amount bigint not null,
      currency text not null,
      at timestamptz not null
    );`);
    this.addSql(`create index if not exists analytics_money_at on analytics_money (at);`);
    this.addSql(`create table if not exists analytics_products (
      product_id uuid primary key,
      name text not null,
      category_id uuid,
      category_name text,
      updated_at timestamptz not null
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists analytics_orders, analytics_order_lines, analytics_return_lines, analytics_money, analytics_products;`);
  }
}
