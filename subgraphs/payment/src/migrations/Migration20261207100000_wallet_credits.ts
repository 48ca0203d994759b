import { Migration } from "@mikro-orm/migrations";

/**
 * Staff credits (kind CREDIT, with the reason), and the idempotency key of a top-up or credit with the
 * fingerprint of its request: a key names one request of its caller (unique per `created_by`).
 */
export class Migration20261207100000_wallet_credits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table wallet_entries
        drop constraint wallet_entries_kind_check,
        add constraint wallet_entries_kind_check check (kind in ('OPENING', 'TOP_UP', 'CREDIT', 'CAPTURE', 'REFUND')),
        add column reason text null,
        add column idempotency_key text null,
        add column request_hash text null,
        add constraint wallet_entries_credit_reason check (kind <> 'CREDIT' or reason is not null),
        add constraint wallet_entries_key_hash check ((idempotency_key is null) = (request_hash is null));`);
    this.addSql(
      `create unique index wallet_entries_created_by_idempotency_key on wallet_entries (created_by, idempotency_key) where idempotency_key is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index wallet_entries_created_by_idempotency_key;`);
    this.addSql(`
      alter table wallet_entries
        drop constraint wallet_entries_key_hash,
        drop constraint wallet_entries_credit_reason,
        drop column request_hash,
        drop column idempotency_key,
        drop column reason,
        drop constraint wallet_entries_kind_check,
        add constraint wallet_entries_kind_check check (kind in ('OPENING', 'TOP_UP', 'CAPTURE', 'REFUND'));`);
  }
}
