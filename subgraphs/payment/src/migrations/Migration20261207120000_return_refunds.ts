import { Migration } from "@mikro-orm/migrations";

/**
 * One row per refunded return, and return refunds in the ledger: an order keeps one entry per kind
 * (its capture, its cancellation's refund), except REFUND entries of returns, one per return.
 */
export class Migration20261207120000_return_refunds extends Migration {
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
    this.addSql(`alter table wallet_entries add column return_id uuid null;`);
    this.addSql(`drop index wallet_entries_one_per_order_kind;`);
    this.addSql(
      `create unique index wallet_entries_one_per_order_kind on wallet_entries (order_id, kind) where order_id is not null and return_id is null;`,
    );
    this.addSql(`create unique index wallet_entries_one_per_return on wallet_entries (return_id) where return_id is not null;`);
  }

  override async down(): Promise<void> {
    // Only while no order has two return refunds: the old index cannot hold them.
    this.addSql(`drop index wallet_entries_one_per_return;`);
    this.addSql(`drop index wallet_entries_one_per_order_kind;`);
    this.addSql(`create unique index wallet_entries_one_per_order_kind on wallet_entries (order_id, kind) where order_id is not null;`);
    this.addSql(`alter table wallet_entries drop column return_id;`);
    this.addSql(`drop table if exists "return_refunds";`);
  }
}
