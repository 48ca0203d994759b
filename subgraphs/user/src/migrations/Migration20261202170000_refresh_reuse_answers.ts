import { Migration } from "@mikro-orm/migrations";

/** How many presentations of a spent refresh token its reuse grace has answered. Additive. */
export class Migration20261202170000_refresh_reuse_answers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table refresh_tokens add column if not exists reuse_answers integer not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table refresh_tokens drop column if exists reuse_answers;`);
  }
}
