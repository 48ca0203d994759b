import { Migration } from "@mikro-orm/migrations";

/**
 * Sibling categories have different names whatever their case ("Audio" and "audio" under one parent
 * would be one shelf shown twice). Existing duplicates are renamed first, never dropped: the newest
 * gets " (2)", " (3)"… so the index can be built and an ADMIN can merge or rename them.
 */
export class Migration20261123100000_category_names extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      update categories c set name = c.name || ' (' || d.n || ')'
      from (
        select id, row_number() over (partition by parent_id, lower(name) order by created_at, id) as n from categories
      ) d
      where d.id = c.id and d.n > 1;`);
    this.addSql(`
      create unique index "categories_sibling_name_unique"
        on "categories" (coalesce("parent_id", '00000000-0000-0000-0000-000000000000'::uuid), lower("name"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "categories_sibling_name_unique";`);
  }
}
