import { Migration } from "@mikro-orm/migrations";

/** One row per refunded return (additive). */
export class Migration20261207100000_return_refunds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "return_refunds" (
        "return_id" uuid not null,
        "order_id" text not null,
        "payment_id" uuid null,
        "amount_minor" int not null,
        "currency" text not null,
        "created_at" timestamptz not null,
        constraint "return_refunds_pkey" primary key ("return_id")
      );`);
    this.addSql(`create index "return_refunds_order_id_index" on "return_refunds" ("order_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "return_refunds";`);
  }
}
