import { Migration } from "@mikro-orm/migrations";

/** One row per received return put back on the shelf (additive). */
export class Migration20261207120000_return_restocks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "return_restocks" (
        "return_id" uuid not null,
        "order_id" uuid not null,
        "warehouse_id" uuid not null,
        "lines" jsonb not null,
        "created_at" timestamptz not null,
        constraint "return_restocks_pkey" primary key ("return_id")
      );`);
    this.addSql(`create index "return_restocks_order_id_index" on "return_restocks" ("order_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "return_restocks";`);
  }
}
