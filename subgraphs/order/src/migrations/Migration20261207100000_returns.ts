import { Migration } from "@mikro-orm/migrations";

const STATUSES = `('REQUESTED', 'APPROVED', 'REJECTED', 'RECEIVED', 'REFUNDED')`;

/** Returns of shipped orders and their status history (additive: older code ignores the tables). */
export class Migration20261207100000_returns extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "return_requests" (
        "id" uuid not null,
        "order_id" uuid not null,
        "user_id" uuid not null,
        "status" text check ("status" in ${STATUSES}) not null,
        "lines" jsonb not null,
        "reason" text not null,
        "warehouse_id" uuid null,
        "refund_amount" int null,
        "refund_currency" text null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        constraint "return_requests_pkey" primary key ("id")
      );`);
    this.addSql(`create index "return_requests_order_id_index" on "return_requests" ("order_id");`);
    this.addSql(`create index "return_requests_status_created_at_index" on "return_requests" ("status", "created_at");`);
    this.addSql(`
      create table "return_status_changes" (
        "id" bigserial primary key,
        "return_id" uuid not null,
        "status" text check ("status" in ${STATUSES}) not null,
        "previous_status" text check ("previous_status" in ${STATUSES}) null,
        "at" timestamptz not null,
        "reason" text null,
        "cause_event_id" uuid null,
        "actor" text null
      );`);
    this.addSql(`create index "return_status_changes_return_id_index" on "return_status_changes" ("return_id");`);
    this.addSql(
      `alter table "return_requests" add constraint "return_requests_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "return_status_changes" add constraint "return_status_changes_return_id_foreign" foreign key ("return_id") references "return_requests" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "return_status_changes";`);
    this.addSql(`drop table if exists "return_requests";`);
  }
}
