import { ConfigError, type EnvReader } from "@commerce/kit";

/** Payment settings, read once at start-up. */
export interface PaymentSettings {
  /** Minor units a new wallet opens with (WALLET_OPENING_BALANCE). */
  walletOpeningBalance: number;
  /** Currency of every wallet (WALLET_CURRENCY). */
  walletCurrency: string;
}

export function readSettings(read: EnvReader): PaymentSettings {
  const walletCurrency = read.string("WALLET_CURRENCY", "USD");
  if (!/^[A-Z]{3}$/.test(walletCurrency)) throw new ConfigError("WALLET_CURRENCY", `must be a 3-letter ISO code, got "${walletCurrency}"`);
  return {
    walletOpeningBalance: read.int("WALLET_OPENING_BALANCE", 100_000, { min: 0, max: 1_000_000_000 }),
    walletCurrency,
  };
}
