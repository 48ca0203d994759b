import { randomUUID } from "node:crypto";
import { BigIntType, Entity, Enum, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "@commerce/kit";

/** OPENING is the balance a wallet opened with (WALLET_OPENING_BALANCE); CREDIT is money STAFF or ADMIN added, with a reason. */
export const WALLET_ENTRY_KINDS = ["OPENING", "TOP_UP", "CREDIT", "CAPTURE", "REFUND"] as const;
export type WalletEntryKind = (typeof WALLET_ENTRY_KINDS)[number];

/** The kinds the API shows: an opening balance is money the platform credited. */
const PUBLIC_KINDS = ["TOP_UP", "CREDIT", "CAPTURE", "REFUND"] as const;
type PublicKind = (typeof PUBLIC_KINDS)[number];
const WalletEntryKindEnum = Object.fromEntries(PUBLIC_KINDS.map((kind) => [kind, kind])) as { [K in PublicKind]: K };
registerEnumType(WalletEntryKindEnum, { name: "WalletEntryKind" });

const OPENING_REASON = "opening balance";

/**
 * One line of a wallet's append-only ledger. `amount` is signed (captures are
 * negative), so a wallet's balance is always the sum of its entries.
 */
@ObjectType({ description: "One movement of a wallet's balance; amount is negative for a capture." })
@Entity({ tableName: "wallet_entries" })
@Index({ properties: ["walletId", "createdAt"] })
export class WalletEntry {
  @Field(() => ID)
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

  @Field(() => ID, { nullable: true, description: "The order a capture or refund belongs to." })
  @Property({ type: "text", nullable: true })
  orderId: string | null = null;

  @Property({ type: "uuid", nullable: true })
  paymentId: string | null = null;

  /** The return a REFUND gives money back for (null for a cancellation's refund): one entry per return. */
  @Property({ type: "uuid", nullable: true })
  returnId: string | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  /** Who caused it: a user id, or `event:<id>` for saga events. */
  @Property({ type: "text" })
  createdBy: string;

  /** Why STAFF or ADMIN credited the wallet (required for CREDIT). */
  @Property({ type: "text", nullable: true })
  reason: string | null = null;

  /** The caller's idempotency key, unique per `createdBy`, and a fingerprint of the request it was sent with. */
  @Property({ type: "text", nullable: true })
  idempotencyKey: string | null = null;

  @Property({ type: "text", nullable: true })
  requestHash: string | null = null;

  constructor(init: {
    walletId: string;
    kind: WalletEntryKind;
    amount: number;
    currency: string;
    createdBy: string;
    orderId?: string;
    paymentId?: string;
    returnId?: string;
    reason?: string;
    idempotency?: { key: string; requestHash: string };
  }) {
    this.walletId = init.walletId;
    this.kind = init.kind;
    this.amount = init.amount;
    this.currency = init.currency;
    this.createdBy = init.createdBy;
    this.orderId = init.orderId ?? null;
    this.paymentId = init.paymentId ?? null;
    this.returnId = init.returnId ?? null;
    this.reason = init.reason ?? null;
    this.idempotencyKey = init.idempotency?.key ?? null;
    this.requestHash = init.idempotency?.requestHash ?? null;
  }

  @Field(() => WalletEntryKindEnum, { name: "kind" })
  get publicKind(): PublicKind {
    return this.kind === "OPENING" ? "CREDIT" : this.kind;
  }

  @Field(() => Money, { name: "amount" })
  get money(): Money {
    return Money.of(this.amount, this.currency);
  }

  @Field(() => Date, { name: "at" })
  get at(): Date {
    return this.createdAt;
  }

  @Field(() => String, { name: "reason", nullable: true, description: "Why STAFF or ADMIN credited the wallet." })
  get publicReason(): string | null {
    return this.kind === "OPENING" ? OPENING_REASON : this.reason;
  }
}
