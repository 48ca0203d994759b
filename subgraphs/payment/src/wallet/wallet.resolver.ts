import { createHash, randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import {
  assertNoControlCharacters,
  BadUserInputError,
  ConflictError,
  ForbiddenError,
  Money,
  MoneyInput,
  NotFoundError,
  PaymentDeclinedError,
  afterDateCursor,
  audit,
  connectionType,
  decodeCursor,
  formatMoney,
  isStaff,
  isUuid,
  pageSize,
  requireUser,
  toConnection,
  type ConnectionShape,
  type Context,
  type Runtime,
  type UserIdentity,
} from "@commerce/kit";
import { UserRef } from "../federation/stubs";
import type { PaymentSettings } from "../settings";
import type { Card } from "./card-processor";
import { lockWallet, unopenedWallet } from "./open-wallet";
import { userExists } from "./user-exists";
import { MAX_BALANCE, MAX_CREDIT, Wallet } from "./wallet.entity";
import { WalletEntry } from "./wallet-entry.entity";
import { CardInput, usableCard } from "./wallet.inputs";

export const WalletEntryConnection = connectionType("WalletEntry", WalletEntry);

const MAX_KEY_LENGTH = 200;
const MAX_REASON_LENGTH = 500;

/** Wallets are private: only their owner and ADMIN see them (STAFF does not). */
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

/** What money comes in through: the owner's card, or a credit STAFF or ADMIN grants for a reason. */
type Funding = { kind: "card"; card: Card } | { kind: "credit"; reason: string };

/**
 * Who may put money in, checked before anything else: a reason makes it a credit (STAFF and ADMIN, any
 * wallet but their own); without one it is a card top-up of one's own wallet.
 */
function authorizeFunding(caller: UserIdentity, userId: string, card: CardInput | null, reason: string | null): Funding {
  if (reason !== null) {
    if (!isStaff(caller)) throw new ForbiddenError("Only STAFF and ADMIN credit a wallet with a reason: top up your own wallet with a card.");
    if (caller.userId.toLowerCase() === userId.toLowerCase())
      throw new ForbiddenError("Nobody credits their own wallet: ask another STAFF or ADMIN, or top it up with a card.");
    if (card) throw new BadUserInputError("A credit takes a reason and no card: leave card out.", "card");
    const trimmed = reason.trim();
    if (!trimmed || trimmed.length > MAX_REASON_LENGTH) {
      throw new BadUserInputError(`reason must be 1 to ${MAX_REASON_LENGTH} characters, not counting leading and trailing spaces.`, "reason");
    }
    assertNoControlCharacters(trimmed, "reason");
    return { kind: "credit", reason: trimmed };
  }
  if (caller.userId !== userId) {
    if (isStaff(caller)) throw new BadUserInputError("Crediting someone else's wallet needs a reason (it is audited).", "reason");
    throw new ForbiddenError("Only the wallet's owner tops it up.");
  }
  if (!card) throw new BadUserInputError("Top up with a card: pass card (STAFF and ADMIN credit with a reason instead).", "card");
  return { kind: "card", card: usableCard(card) };
}

/** What an idempotency key stands for: the same key with another fingerprint is another request. Card digits stay out but the last four. */
function fingerprint(userId: string, amount: MoneyInput, funding: Funding): string {
  const how =
    funding.kind === "card" ? ["card", funding.card.number.slice(-4), funding.card.expMonth, funding.card.expYear] : ["credit", funding.reason];
  return createHash("sha256")
    .update(JSON.stringify([userId.toLowerCase(), amount.amount, amount.currency, how]))
    .digest("hex");
}

/**
 * Whether the caller already sent this key: true when for this very request (it is answered again,
 * not applied again), false when not yet used; another request with it is a CONFLICT.
 */
async function alreadyApplied(em: EntityManager, callerId: string, key: string, requestHash: string): Promise<boolean> {
  const earlier = await em.findOne(WalletEntry, { createdBy: callerId, idempotencyKey: key });
  if (!earlier) return false;
  if (earlier.requestHash === requestHash) return true;
  throw new ConflictError("This idempotencyKey was already used for a different top-up: send a new key, or repeat the first request exactly.", {
    field: "idempotencyKey",
  });
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === "23505";
}

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

  @FieldResolver(() => WalletEntryConnection, { description: "The ledger, newest first: top-ups, credits, captures (negative) and refunds." })
  async entries(
    @Root() wallet: Wallet,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<ConnectionShape<WalletEntry>> {
    requireSelfOrAdmin(ctx, wallet.userId);
    const size = pageSize(first);
    // A zero opening balance moved nothing: it is no line of the ledger a person reads.
    const where = { walletId: wallet.userId, $not: { kind: "OPENING", amount: 0 } } as const;
    const [rows, total] = await Promise.all([
      ctx.em.find(
        WalletEntry,
        { $and: [where, afterDateCursor(decodeCursor(after, "walletEntries"))] },
        {
          orderBy: { createdAt: "desc", id: "desc" },
          limit: size + 1,
        },
      ),
      ctx.em.count(WalletEntry, where),
    ]);
    return toConnection(rows, size, total, "walletEntries", (entry) => ({ key: entry.createdAt.toISOString(), id: entry.id }));
  }

  @Mutation(() => Wallet, {
    description:
      "Adds money to a wallet: the owner tops it up with a card; STAFF and ADMIN credit any wallet with a reason (audited). " +
      "The same idempotencyKey with the same request answers again without adding twice.",
  })
  async topUpWallet(
    @Arg("userId", () => ID) userId: string,
    // Validated here rather than by class-validator, so errors name `amount.amount` / `amount.currency`.
    @Arg("amount", () => MoneyInput, { validate: false }) amount: MoneyInput,
    @Arg("card", () => CardInput, { nullable: true }) card: CardInput | null,
    @Arg("reason", () => String, { nullable: true }) reason: string | null,
    @Arg("idempotencyKey", () => String, { nullable: true }) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Wallet> {
    const caller = requireUser(ctx);
    const funding = authorizeFunding(caller, userId, card ?? null, reason ?? null);
    if (!isUuid(userId)) throw new BadUserInputError("userId is not a user id: pass the id of a registered user.", "userId");
    const { settings } = this.runtime;
    const max = funding.kind === "card" ? settings.topUpMax : MAX_CREDIT;
    if (!Number.isInteger(amount.amount) || amount.amount <= 0 || amount.amount > max) {
      throw new BadUserInputError(`amount must be between 1 and ${max} minor units, got ${amount.amount}.`, "amount.amount");
    }
    if (idempotencyKey !== null && idempotencyKey !== undefined && (!idempotencyKey.trim() || idempotencyKey.length > MAX_KEY_LENGTH)) {
      throw new BadUserInputError(`idempotencyKey must be 1 to ${MAX_KEY_LENGTH} characters and not blank, or left out.`, "idempotencyKey");
    }
    const idempotency = idempotencyKey ? { key: idempotencyKey, requestHash: fingerprint(userId, amount, funding) } : undefined;
    if (idempotency && (await alreadyApplied(ctx.em.fork(), caller.userId, idempotency.key, idempotency.requestHash))) {
      return ctx.em.fork().findOneOrFail(Wallet, { userId });
    }
    // A top-up may open the wallet ahead of user.registered, but only for a user who exists: the signed-in
    // owner does; anyone else names a user by id alone, so the user subgraph must vouch for it.
    if (caller.userId !== userId && !(await ctx.em.count(Wallet, { userId })) && !(await userExists(this.runtime, userId, ctx.requestId))) {
      throw new NotFoundError("User", userId, "userId");
    }
    try {
      return await this.runtime.commit(ctx.em, async (tx) => {
        const wallet = await lockWallet(tx, userId, settings, caller.userId);
        // Under the wallet's lock: a concurrent request with the same key has committed or not started.
        if (idempotency && (await alreadyApplied(tx, caller.userId, idempotency.key, idempotency.requestHash))) return wallet;
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
        const money = Money.of(amount.amount, wallet.currency);
        if (funding.kind === "credit") {
          tx.persist(wallet.credit(amount.amount, caller.userId, funding.reason, idempotency));
          audit(tx, ctx, {
            action: "wallet.credited",
            targetType: "Wallet",
            targetId: userId,
            details: { amount: money, reason: funding.reason, balanceBefore, balanceAfter: wallet.balance },
          });
          return wallet;
        }
        await this.checkDailyLimit(tx, wallet, amount.amount);
        // Charged last, once every check has passed; a decline rolls back the wallet's opening too.
        const charge = await settings.cardProcessor.charge(funding.card, money, `${caller.userId}:${idempotency?.key ?? randomUUID()}`);
        if (charge.kind === "declined") {
          throw new PaymentDeclinedError(
            charge.reason === "INSUFFICIENT_FUNDS" ? "The card was declined for insufficient funds." : "The card was declined: use another card.",
            charge.reason,
          );
        }
        tx.persist(wallet.topUp(amount.amount, caller.userId, idempotency));
        audit(tx, ctx, {
          action: "wallet.topped_up",
          targetType: "Wallet",
          targetId: userId,
          details: {
            amount: money,
            balanceBefore,
            balanceAfter: wallet.balance,
            cardLast4: funding.card.number.slice(-4),
            processorReference: charge.reference,
          },
        });
        return wallet;
      });
    } catch (error) {
      // The same key raced on two wallets (so two requests): the unique index let one in, the other is a CONFLICT.
      if (idempotency && isUniqueViolation(error) && (await alreadyApplied(ctx.em.fork(), caller.userId, idempotency.key, idempotency.requestHash))) {
        return ctx.em.fork().findOneOrFail(Wallet, { userId });
      }
      throw error;
    }
  }

  /** Card top-ups of one wallet over the last 24 hours stay within TOP_UP_DAILY_MAX. */
  private async checkDailyLimit(em: EntityManager, wallet: Wallet, amount: number): Promise<void> {
    const [{ total }] = await em.execute<{ total: string }[]>(
      `select coalesce(sum(amount), 0) as total from wallet_entries
       where wallet_id = ? and kind = 'TOP_UP' and created_at > now() - interval '24 hours'`,
      [wallet.userId],
    );
    const room = this.runtime.settings.topUpDailyMax - Number(total);
    if (amount > room) {
      throw new BadUserInputError(
        `Card top-ups are limited to ${formatMoney(Money.of(this.runtime.settings.topUpDailyMax, wallet.currency))} in 24 hours: top up at most ${Math.max(0, room)} minor units now.`,
        "amount.amount",
      );
    }
  }
}
