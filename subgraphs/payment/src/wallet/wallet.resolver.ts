import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import {
  BadUserInputError,
  ForbiddenError,
  Money,
  MoneyInput,
  NotFoundError,
  audit,
  formatMoney,
  requireUser,
  type Context,
  type Runtime,
  isUuid,
} from "@commerce/kit";
import { UserRef } from "../federation/stubs";
import type { PaymentSettings } from "../settings";
import { lockWallet, unopenedWallet } from "./open-wallet";
import { userExists } from "./user-exists";
import { MAX_BALANCE, MAX_TOP_UP, Wallet } from "./wallet.entity";

/** Wallets are private: only their owner and ADMIN see or fund them (STAFF does not). */
function requireSelfOrAdmin(ctx: Context, userId: string): void {
  if (ctx.identity?.kind === "service") return;
  const caller = requireUser(ctx);
  if (caller.userId !== userId && caller.role !== "ADMIN") throw new ForbiddenError("Only the wallet's owner or an ADMIN can do this.");
}

const walletByUserId = (ctx: Context) =>
  ctx.loader<string, Wallet | null>("walletByUserId", async (userIds) => {
    const rows = await ctx.em.find(Wallet, { userId: { $in: [...userIds] } });
    const map = new Map(rows.map((row) => [row.userId, row]));
    return userIds.map((id) => map.get(id) ?? null);
  });

@Resolver(() => UserRef)
export class UserWalletResolver {
  constructor(private readonly runtime: Runtime<PaymentSettings>) {}

  @FieldResolver(() => Wallet, { description: "The user's own wallet (the user themself or ADMIN)." })
  async wallet(@Root() user: UserRef, @Ctx() ctx: Context): Promise<Wallet> {
    requireSelfOrAdmin(ctx, user.id);
    // Before user.registered is consumed there is no row yet: show what it will open with.
    return (await walletByUserId(ctx).load(user.id)) ?? unopenedWallet(user.id, this.runtime.settings);
  }
}

@Resolver(() => Wallet)
export class WalletResolver {
  constructor(private readonly runtime: Runtime<PaymentSettings>) {}

  @Mutation(() => Wallet, { description: "Adds money to a wallet (ADMIN, or the user themself)." })
  async topUpWallet(
    @Arg("userId", () => ID) userId: string,
    // Validated here rather than by class-validator, so errors name `amount.amount` / `amount.currency`.
    @Arg("amount", () => MoneyInput, { validate: false }) amount: MoneyInput,
    @Ctx() ctx: Context,
  ): Promise<Wallet> {
    requireSelfOrAdmin(ctx, userId);
    if (!isUuid(userId)) throw new BadUserInputError("userId is not a user id: pass the id of a registered user.", "userId");
    const caller = ctx.identity?.kind === "user" ? ctx.identity.userId : "service";
    if (!Number.isInteger(amount.amount) || amount.amount <= 0 || amount.amount > MAX_TOP_UP) {
      throw new BadUserInputError(`amount must be between 1 and ${MAX_TOP_UP} minor units, got ${amount.amount}.`, "amount.amount");
    }
    // A top-up may open the wallet ahead of user.registered, but only for a user who exists: the signed-in
    // owner does; anyone else names a user by id alone, so the user subgraph must vouch for it.
    if (caller !== userId && !(await ctx.em.count(Wallet, { userId })) && !(await userExists(this.runtime, userId, ctx.requestId))) {
      throw new NotFoundError("User", userId, "userId");
    }
    return this.runtime.commit(ctx.em, async (tx) => {
      const wallet = await lockWallet(tx, userId, this.runtime.settings, caller);
      if (amount.currency !== wallet.currency) {
        throw new BadUserInputError(`This wallet holds ${wallet.currency}; top it up in ${wallet.currency}.`, "amount.currency");
      }
      if (amount.amount > wallet.topUpRoom) {
        throw new BadUserInputError(
          `The balance is ${formatMoney(wallet.balance)} and may not pass ${formatMoney(Money.of(MAX_BALANCE, wallet.currency))}: top up at most ${wallet.topUpRoom} minor units.`,
          "amount.amount",
        );
      }
      const balanceBefore = wallet.balance;
      tx.persist(wallet.topUp(amount.amount, caller));
      audit(tx, ctx, {
        action: "wallet.topped_up",
        targetType: "Wallet",
        targetId: userId,
        details: { amount: { amount: amount.amount, currency: wallet.currency }, balanceBefore, balanceAfter: wallet.balance },
      });
      return wallet;
    });
  }
}
