import { Migration } from "@mikro-orm/migrations";

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

/**
 * Publishing by logical decoding: the outbox becomes insert-only (decoded through the `outbox_relay`
 * publication), and what was published when is logged in `outbox_publication`, one row per flush.
 * Rows already marked published are carried into that log, so a relay's first catch-up skips them.
 */
export class Migration20261207000000StreamsLogicalRelay extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "outbox_publication" (
        "id" bigserial primary key,
        "published_at" timestamptz not null default now(),
        "outbox_ids" bigint[] not null,
        "at" timestamptz[] not null
      );`);
    this.addSql(`create index "outbox_publication_ids_idx" on "outbox_publication" using gin ("outbox_ids");`);
    this.addSql(`create index "outbox_publication_published_at_idx" on "outbox_publication" ("published_at");`);
    this.addSql(`
      insert into "outbox_publication" ("outbox_ids", "at")
      select array_agg("id" order by "id"), array_agg("published_at" order by "id") from "outbox"
      where "published_at" is not null having count(*) > 0;`);
    this.addSql(`drop index if exists "outbox_unpublished_idx";`);
    this.addSql(`drop index if exists "outbox_published_at_idx";`);
    this.addSql(`alter table "outbox" drop column "published_at", drop column "tx_id";`);
    this.addSql(`create index "outbox_created_at_idx" on "outbox" ("created_at");`);
    this.addSql(`create publication "outbox_relay" for table "outbox" ("id", "event_id", "type", "stream", "payload") with (publish = 'insert');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop publication if exists "outbox_relay";`);
    this.addSql(`drop index if exists "outbox_created_at_idx";`);
    this.addSql(`alter table "outbox" add column "published_at" timestamptz null, add column "tx_id" xid8 not null default pg_current_xact_id();`);
    this.addSql(`create index "outbox_published_at_idx" on "outbox" ("published_at");`);
    this.addSql(`create index "outbox_unpublished_idx" on "outbox" ("id") where "published_at" is null;`);
    this.addSql(`drop table if exists "outbox_publication";`);
  }
}

/** Add to every service's `migrations.migrationsList`, before the service's own migrations. */
export const streamsMigrations = [
  { name: "Migration20250101000000StreamsOutbox", class: Migration20250101000000StreamsOutbox },
  { name: "Migration20261207000000StreamsLogicalRelay", class: Migration20261207000000StreamsLogicalRelay },
];
