import { Migration } from "@mikro-orm/migrations";

/** Order names from `order.placed`, for messages that call an order by its name. Additive. */
export class Migration20261202150000_order_names extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists order_names (order_id text primary key, name text not null);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists order_names;`);
  }
}
