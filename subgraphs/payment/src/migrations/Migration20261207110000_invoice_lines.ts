import { Migration } from "@mikro-orm/migrations";

/** An invoice's lines (product name, quantity, unit price), as `inventory.reserved` carries them; older invoices have none. */
export class Migration20261207110000_invoice_lines extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table invoices add column lines jsonb not null default '[]';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table invoices drop column lines;`);
  }
}
