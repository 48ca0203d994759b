import { Migration } from "@mikro-orm/migrations";

export class Migration20261122010000_payment extends Migration {
  override async up(): Promise<void> {
    // The CHECK is the last line of defence: no code path may overdraw a wallet.
    this.addSql(`
      create table wallets (
        user_id text primary key,
        balance_amount bigint not null check (balance_amount >= 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        opened_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`
      create table wallet_entries (
        id uuid primary key,
        wallet_id text not null references wallets (user_id),
        kind text not null check (kind in ('OPENING', 'TOP_UP', 'CAPTURE', 'REFUND')),
        amount bigint not null,
        currency text not null,
        order_id text null,
        payment_id uuid null,
        created_at timestamptz not null default now(),
        created_by text not null,
        -- the sign follows the kind, so sum(amount) is the balance
        check ((kind = 'CAPTURE' and amount < 0) or (kind <> 'CAPTURE' and amount >= 0))
      );`);
    this.addSql(`create index wallet_entries_wallet_id_created_at_index on wallet_entries (wallet_id, created_at);`);
    this.addSql(`create unique index wallet_entries_one_opening on wallet_entries (wallet_id) where kind = 'OPENING';`);
    this.addSql(`create unique index wallet_entries_one_per_order_kind on wallet_entries (order_id, kind) where order_id is not null;`);
    this.addSql(`
      create table payments (
        id uuid primary key,
        order_id text not null unique,
        user_id text not null,
        amount_minor integer not null check (amount_minor >= 0),
        currency text not null,
        status text not null check (status in ('CAPTURED', 'FAILED', 'REFUNDED')),
        failure_reason text null,
        created_at timestamptz not null default now(),
        refunded_at timestamptz null
      );`);
    this.addSql(`create index payments_user_id_index on payments (user_id);`);
    this.addSql(`
      create table invoices (
        id uuid primary key,
        payment_id uuid not null unique references payments (id),
        number text not null unique,
        amount_minor integer not null,
        currency text not null,
        issued_at timestamptz not null default now()
      );`);
    // Not a sequence: sequences skip numbers on rollback, invoice numbers must not.
    this.addSql(`create table invoice_counter (name text primary key, last_value bigint not null);`);
    this.addSql(`insert into invoice_counter (name, last_value) values ('invoice', 0);`);
    this.addSql(`
      create table cancelled_orders (
        order_id text primary key,
        cancelled_at timestamptz not null default now()
      );`);
  }
}
