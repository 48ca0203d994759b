import { Migration } from "@mikro-orm/migrations";

/**
 * SKUs are unique whatever their case ("ssd-011" is "SSD-011"), as warehouse
 * codes are; each product keeps the case it was given. Fails, naming the SKU,
 * if the table already holds two SKUs that differ only in case: rename one of
 * them (updateProduct) and migrate again.
 */
export class Migration20261122120000_sku_case_insensitive extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create unique index "products_sku_lower_unique" on "products" (lower("sku"));`);
    this.addSql(`alter table "products" drop constraint "products_sku_unique";`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "products" add constraint "products_sku_unique" unique ("sku");`);
    this.addSql(`drop index "products_sku_lower_unique";`);
  }
}
