import { readWalletCurrency, type EnvReader } from "@commerce/kit";
import { SimulatedCardProcessor, type PaymentProvider } from "./wallet/card-processor";

/** Payment settings, read once at start-up. */
export interface PaymentSettings {
  /** Minor units a new wallet opens with (WALLET_OPENING_BALANCE, default 0: money comes in through top-ups). */
  walletOpeningBalance: number;
  /** Currency of every wallet (WALLET_CURRENCY). */
  walletCurrency: string;
  /** Largest card top-up, in minor units (TOP_UP_MAX). */
  topUpMax: number;
  /** Most a wallet may take in card top-ups over any 24 hours, in minor units (TOP_UP_DAILY_MAX). */
  topUpDailyMax: number;
  /** Takes card top-ups: the simulated processor (no card network is wired). */
  cardProcessor: PaymentProvider;
}

export function readSettings(read: EnvReader): PaymentSettings {
  const walletCurrency = readWalletCurrency(read);
  const topUpMax = read.int("TOP_UP_MAX", 50_000, { min: 1, max: 10_000_000 });
  return {
    walletOpeningBalance: read.int("WALLET_OPENING_BALANCE", 0, { min: 0, max: 1_000_000_000 }),
    walletCurrency,
    topUpMax,
    topUpDailyMax: read.int("TOP_UP_DAILY_MAX", 200_000, { min: topUpMax, max: 1_000_000_000 }),
    cardProcessor: new SimulatedCardProcessor(),
  };
}
