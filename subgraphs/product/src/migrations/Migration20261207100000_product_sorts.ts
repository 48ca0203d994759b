import { Migration } from "@mikro-orm/migrations";

/** Keyset pages of `products(sort: PRICE_ASC | PRICE_DESC | NEWEST)` read these indexes in either direction. */
export class Migration20261207100000_product_sorts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists "products_price_id_index" on "products" ("price_amount", "id");`);
    this.addSql(`create index if not exists "products_created_id_index" on "products" ("created_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "products_price_id_index";`);
    this.addSql(`drop index if exists "products_created_id_index";`);
  }
}
