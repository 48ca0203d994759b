import { envReader } from "@commerce/kit";
import { readSettings } from "./settings";

describe("payment settings", () => {
  it("opens wallets empty unless WALLET_OPENING_BALANCE says otherwise, and limits card top-ups to $500 each and $2,000 a day", () => {
    expect(readSettings(envReader({}))).toMatchObject({ walletOpeningBalance: 0, walletCurrency: "USD", topUpMax: 50_000, topUpDailyMax: 200_000 });
    expect(readSettings(envReader({ WALLET_OPENING_BALANCE: "2500" })).walletOpeningBalance).toBe(2_500);
  });

  it("refuses a daily limit below the single top-up limit, naming the variable", () => {
    expect(() => readSettings(envReader({ TOP_UP_MAX: "1000", TOP_UP_DAILY_MAX: "999" }))).toThrow(/TOP_UP_DAILY_MAX/);
  });
});
