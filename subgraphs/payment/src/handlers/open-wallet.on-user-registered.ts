import type { EventHandler } from "@commerce/kit";
import type { PaymentSettings } from "../settings";
import { openWallet } from "../wallet/open-wallet";

/** Opens a new user's wallet with the opening balance (a no-op when a charge already opened it). */
export const openWalletOnUserRegistered: EventHandler<"user.registered", PaymentSettings> = async (event, { em, logger, settings }) => {
  const opened = await openWallet(em, event.payload.userId, settings, `event:${event.id}`);
  logger.debug({ userId: event.payload.userId, opened }, opened ? "wallet opened" : "wallet already open");
};
