import { Migration } from '@mikro-orm/migrations';

/** Creates `outbox` and `processed_event`. Hand-written so the partial index and the xid8 default are exact. */
export class Migration20250101000000StreamsOutbox extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "outbox" (
        "id" bigserial primary key,
        "event_id" uuid not null unique,
        "type" text not null,
        "stream" text not null,
        "correlation_id" text not null,
        "payload" jsonb not null,
        "created_at" timestamptz not null default now(),
        "published_at" timestamptz null,
        "tx_id" xid8 not null default pg_current_xact_id()
      );`);
    // The relay scans only what is unpublished, in id order; the partial index stays tiny.
    this.addSql(`create index "outbox_unpublished_idx" on "outbox" ("id") where "published_at" is null;`);
    this.addSql(`create index "outbox_published_at_idx" on "outbox" ("published_at");`);
    this.addSql(`
      create table "processed_event" (
        "event_id" uuid not null,
        "consumer_group" text not null,
        "processed_at" timestamptz not null default now(),
        primary key ("event_id", "consumer_group")
      );`);
    this.addSql(`create index "processed_event_processed_at_idx" on "processed_event" ("processed_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "processed_event";`);
    this.addSql(`drop table if exists "outbox";`);
  }
}

/** Add to every service's `migrations.migrationsList`, before the service's own migrations. */
export const streamsMigrations = [
  { name: 'Migration20250101000000StreamsOutbox', class: Migration20250101000000StreamsOutbox },
];
