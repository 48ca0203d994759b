import { BigIntType, Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Field, ObjectType } from "type-graphql";
import { Money, formatMoney } from "@commerce/kit";
import { WalletEntry } from "./wallet-entry.entity";

/** The outcome of charging a wallet: the ledger line, or why it was refused. */
export type ChargeOutcome = { kind: "debited"; entry: WalletEntry } | { kind: "refused"; reason: string };

/** Largest single credit by STAFF or ADMIN, in minor units: beyond it a typo is likelier than a real deposit. */
export const MAX_CREDIT = 10_000_000;

/**
 * Largest balance a top-up may reach, in minor units. `Money.amount` is a GraphQL Int (32-bit,
 * 2,147,483,647), so a larger balance could not be read back; the cap stays well below it because a
 * refund returns money a top-up may have replaced meanwhile, and a refund is never refused: the ~1.1
 * billion between the cap and the limit is room for those.
 */
export const MAX_BALANCE = 1_000_000_000;

/**
 * A user's prepaid balance, the simulated payment method. The row is locked
 * (`SELECT … FOR UPDATE`) around every change; each change returns the ledger
 * entry that explains it, and the database refuses a negative balance.
 */
@ObjectType({ description: "A user's prepaid balance; orders are paid from it." })
@Entity({ tableName: "wallets" })
export class Wallet {
  @PrimaryKey({ type: "text" })
  userId: string;

  @Property({ type: new BigIntType("number") })
  balanceAmount: number;

  @Property({ type: "text" })
  currency: string;

  @Property({ type: "timestamptz" })
  openedAt: Opt<Date> = new Date();

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Opt<Date> = new Date();

  constructor(userId: string, opening: Money) {
    this.userId = userId;
    this.balanceAmount = opening.amount;
    this.currency = opening.currency;
  }

  @Field(() => Money)
  get balance(): Money {
    return Money.of(this.balanceAmount, this.currency);
  }

  /** Debits `amount` for an order when the balance covers it and the currency matches. */
  charge(amount: Money, ref: { orderId: string; paymentId: string; by: string }): ChargeOutcome {
    if (amount.currency !== this.currency) {
      return { kind: "refused", reason: `currency mismatch: the wallet holds ${this.currency}, the order is in ${amount.currency}` };
    }
    if (this.balanceAmount < amount.amount) {
      // The balance stays out of the reason: STAFF read it on the order, and wallets are private to their owner.
      return { kind: "refused", reason: `insufficient funds: the order needs ${formatMoney(amount)}, more than the wallet holds` };
    }
    return { kind: "debited", entry: this.move("CAPTURE", -amount.amount, ref.by, ref) };
  }

  /** Gives back what a capture took, or part of it for a return (`returnId`). */
  refund(amount: Money, ref: { orderId: string; paymentId: string; returnId?: string; by: string }): WalletEntry {
    return this.move("REFUND", amount.amount, ref.by, ref);
  }

  /** How much a top-up may add before the balance passes {@link MAX_BALANCE}. */
  get topUpRoom(): number {
    return Math.max(0, MAX_BALANCE - this.balanceAmount);
  }

  /** Adds money paid by card; the caller has validated the amount (see {@link topUpRoom}) and currency. */
  topUp(amount: number, by: string, idempotency?: { key: string; requestHash: string }): WalletEntry {
    return this.move("TOP_UP", amount, by, { idempotency });
  }

  /** Adds money STAFF or ADMIN grant, for `reason`; validated like {@link topUp}. */
  credit(amount: number, by: string, reason: string, idempotency?: { key: string; requestHash: string }): WalletEntry {
    return this.move("CREDIT", amount, by, { reason, idempotency });
  }

  private move(
    kind: WalletEntry["kind"],
    delta: number,
    by: string,
    ref: { orderId?: string; paymentId?: string; returnId?: string; reason?: string; idempotency?: { key: string; requestHash: string } },
  ): WalletEntry {
    this.balanceAmount += delta;
    return new WalletEntry({ walletId: this.userId, kind, amount: delta, currency: this.currency, createdBy: by, ...ref });
  }
}
