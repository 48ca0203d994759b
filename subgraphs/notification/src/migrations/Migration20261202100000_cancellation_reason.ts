import { Migration } from "@mikro-orm/migrations";

/**
 * The reason of a paid order's cancellation, kept until its refund arrives: the customer is told
 * both in one message (`OrderCancellation.awaitingRefund`). Null for every cancellation already told.
 */
export class Migration20261202100000_cancellation_reason extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table order_cancellations add column awaiting_refund_reason text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table order_cancellations drop column awaiting_refund_reason;`);
  }
}
