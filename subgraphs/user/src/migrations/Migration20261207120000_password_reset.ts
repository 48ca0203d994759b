import { Migration } from "@mikro-orm/migrations";

/** Password reset tokens (hashed, single use, expiring). Additive. */
export class Migration20261207120000_password_reset extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table if not exists password_reset_tokens (
        id uuid primary key,
        token_hash text not null unique,
        user_id uuid not null references users (id) on delete cascade,
        expires_at timestamptz not null,
        used_at timestamptz null,
        created_at timestamptz not null
      );`);
    this.addSql(`create index if not exists password_reset_tokens_user_id_created_at_index on password_reset_tokens (user_id, created_at);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists password_reset_tokens;`);
  }
}
