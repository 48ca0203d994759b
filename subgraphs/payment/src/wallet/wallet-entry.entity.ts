import { randomUUID } from "node:crypto";
import { BigIntType, Entity, Enum, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";

export const WALLET_ENTRY_KINDS = ["OPENING", "TOP_UP", "CAPTURE", "REFUND"] as const;
export type WalletEntryKind = (typeof WALLET_ENTRY_KINDS)[number];

/**
 * One line of a wallet's append-only ledger. `amount` is signed (captures are
 * negative), so a wallet's balance is always the sum of its entries.
 */
@Entity({ tableName: "wallet_entries" })
@Index({ properties: ["walletId", "createdAt"] })
export class WalletEntry {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  /** The wallet's owner (wallets are keyed by user id). */
  @Property({ type: "text" })
  walletId: string;

  @Enum({ items: () => WALLET_ENTRY_KINDS, type: "text" })
  kind: WalletEntryKind;

  @Property({ type: new BigIntType("number") })
  amount: number;

  @Property({ type: "text" })
  currency: string;

  @Property({ type: "text", nullable: true })
  orderId: string | null = null;

  @Property({ type: "uuid", nullable: true })
  paymentId: string | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  /** Who caused it: a user id, or `event:<id>` for saga events. */
  @Property({ type: "text" })
  createdBy: string;

  constructor(init: { walletId: string; kind: WalletEntryKind; amount: number; currency: string; createdBy: string; orderId?: string; paymentId?: string }) {
    this.walletId = init.walletId;
    this.kind = init.kind;
    this.amount = init.amount;
    this.currency = init.currency;
    this.createdBy = init.createdBy;
    this.orderId = init.orderId ?? null;
    this.paymentId = init.paymentId ?? null;
  }
}
