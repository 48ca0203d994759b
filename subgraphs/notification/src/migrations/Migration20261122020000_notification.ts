import { Migration } from "@mikro-orm/migrations";

export class Migration20261122020000_notification extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table recipients (
        user_id text primary key,
        email text not null,
        name text not null,
        role text not null check (role in ('CUSTOMER', 'STAFF', 'ADMIN')),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index recipients_role_index on recipients (role);`);
    this.addSql(`
      create table preferences (
        user_id text primary key,
        email boolean not null default true,
        in_app boolean not null default true,
        sms boolean not null default false,
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`
      create table templates (
        key text not null,
        channel text not null check (channel in ('EMAIL', 'IN_APP', 'SMS')),
        subject text null,
        body text not null,
        updated_at timestamptz not null default now(),
        primary key (key, channel)
      );`);
    this.addSql(`
      create table notifications (
        id uuid primary key,
        user_id text not null,
        order_id text null,
        channel text not null check (channel in ('EMAIL', 'IN_APP', 'SMS')),
        template text not null,
        subject text null,
        body text not null,
        status text not null default 'PENDING' check (status in ('PENDING', 'SENT', 'FAILED')),
        attempts integer not null default 0,
        last_error text null,
        created_at timestamptz not null default now(),
        sent_at timestamptz null,
        next_attempt_at timestamptz not null default now(),
        dedupe_key text not null unique
      );`);
    this.addSql(`create index notifications_user_id_created_at_id_index on notifications (user_id, created_at desc, id desc);`);
    this.addSql(`create index notifications_order_id_index on notifications (order_id) where order_id is not null;`);
    // The delivery job's claim scans only what is still to send.
    this.addSql(`create index notifications_due_index on notifications (next_attempt_at) where status = 'PENDING';`);
    this.addSql(`
      create table delivery_attempts (
        id uuid primary key,
        notification_id uuid not null references notifications (id),
        at timestamptz not null default now(),
        ok boolean not null,
        error text null
      );`);
    this.addSql(`create index delivery_attempts_notification_id_index on delivery_attempts (notification_id);`);
    this.addSql(`
      create table order_cancellations (
        order_id text primary key,
        cancelled boolean not null default false,
        refund_amount integer null,
        refund_currency text null
      );`);
  }
}
