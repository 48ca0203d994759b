import { Migration } from "@mikro-orm/migrations";

export class Migration20261122000000_users extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table users (
        id uuid primary key,
        email text not null unique,
        name text not null,
        password_hash text not null,
        role text not null default 'CUSTOMER' check (role in ('CUSTOMER', 'STAFF', 'ADMIN')),
        created_at timestamptz not null default now()
      );`);
    this.addSql(`
      create table refresh_tokens (
        id uuid primary key,
        token_hash text not null unique,
        user_id uuid not null references users (id) on delete cascade,
        family_id uuid not null,
        expires_at timestamptz not null,
        used_at timestamptz null,
        revoked_at timestamptz null,
        created_at timestamptz not null default now()
      );`);
    this.addSql(`create index refresh_tokens_family_id_index on refresh_tokens (family_id);`);
  }
}
