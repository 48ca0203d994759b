import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Money } from "@commerce/kit";
import type { PaymentSettings } from "../settings";
import { Wallet } from "./wallet.entity";
import { WalletEntry } from "./wallet-entry.entity";

/**
 * Opens the user's wallet with the opening balance unless it exists. Safe to
 * race: `ON CONFLICT DO NOTHING` makes a concurrent second opening wait for the
 * first and then do nothing, so a wallet is never opened (or credited) twice.
 * Must run inside a transaction; returns whether this call opened it.
 */
export async function openWallet(em: EntityManager, userId: string, settings: PaymentSettings, by: string): Promise<boolean> {
  const opening = Money.of(settings.walletOpeningBalance, settings.walletCurrency);
  const inserted = await em.execute<{ user_id: string }[]>(
    `insert into wallets (user_id, balance_amount, currency, opened_at, updated_at)
     values (?, ?, ?, now(), now()) on conflict (user_id) do nothing returning user_id`,
    [userId, opening.amount, opening.currency],
  );
  if (!inserted.length) return false;
  // A zero opening balance moves nothing, so it leaves no ledger line.
  if (opening.amount > 0)
    em.persist(new WalletEntry({ walletId: userId, kind: "OPENING", amount: opening.amount, currency: opening.currency, createdBy: by }));
  return true;
}

/**
 * The user's wallet, opened first if it does not exist yet, and row-locked
 * until the transaction ends so concurrent charges and top-ups of one wallet
 * apply one after another. Only for a user known to exist even though
 * `user.registered` may not have been consumed yet: the payer of an order, the
 * signed-in owner, or a user the user subgraph vouches for (see `userExists`).
 */
export async function lockWallet(em: EntityManager, userId: string, settings: PaymentSettings, by: string): Promise<Wallet> {
  const lock = () => em.findOne(Wallet, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  const wallet = await lock();
  if (wallet) return wallet;
  await openWallet(em, userId, settings, by);
  return (await lock())!;
}

/** What `user.wallet` shows before the wallet exists: what it will open with. */
export function unopenedWallet(userId: string, settings: PaymentSettings): Wallet {
  return new Wallet(userId, Money.of(settings.walletOpeningBalance, settings.walletCurrency));
}
