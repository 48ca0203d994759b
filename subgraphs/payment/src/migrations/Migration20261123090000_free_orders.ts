import { Migration } from "@mikro-orm/migrations";

/**
 * A capture may be zero: a product may be priced 0, and an order of free products is captured (and
 * invoiced) like any other. Before, its CAPTURE entry of 0 broke the "captures are negative" check,
 * so the charge failed on every delivery and the order waited for its saga deadline.
 */
export class Migration20261123090000_free_orders extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table wallet_entries
        drop constraint wallet_entries_check,
        add constraint wallet_entries_check check ((kind = 'CAPTURE' and amount <= 0) or (kind <> 'CAPTURE' and amount >= 0));`);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table wallet_entries
        drop constraint wallet_entries_check,
        add constraint wallet_entries_check check ((kind = 'CAPTURE' and amount < 0) or (kind <> 'CAPTURE' and amount >= 0));`);
  }
}
