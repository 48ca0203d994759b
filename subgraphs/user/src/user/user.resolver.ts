import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { createEvent } from "@commerce/streams";
import {
  BadUserInputError,
  ConflictError,
  NotFoundError,
  UnauthenticatedError,
  audit,
  decodeCursor,
  afterDateCursor,
  pageSize,
  publishRole,
  requireRole,
  requireUser,
  toConnection,
  type ConnectionShape,
  type Context,
  type Role,
  type Runtime,
  isUuid,
} from "@commerce/kit";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../auth/password";
import { checkNewPassword } from "../auth/password-policy";
import { PasswordResetToken } from "../auth/password-reset.entity";
import { ResetMailer } from "../auth/reset-mail";
import { openSession, revokeSessionOf, revokeSessions, rotateRefreshToken } from "../auth/sessions";
import { signIn } from "../auth/signed-in";
import type { UserSettings } from "../settings";
import { User, RoleEnum, normaliseEmail } from "./user.entity";
import { AuthPayload, RegisterInput, UserConnection, UserFilter } from "./user.inputs";

const LOGIN_FAILED = "Email or password is incorrect.";
const RESET_INVALID = "The reset token is invalid, expired or already used: request a new one.";
/** A new reset mail is sent at most this often per account (requestPasswordReset answers true anyway). */
const RESET_MAIL_INTERVAL_MS = 60_000;

/** `%`, `_` and `\` are literal in a search, not LIKE wildcards. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

@Resolver(() => User)
export class UserResolver {
  private readonly mailer: ResetMailer;

  constructor(private readonly runtime: Runtime<UserSettings>) {
    this.mailer = new ResetMailer(runtime.settings, runtime.logger);
  }

  @Query(() => User, { nullable: true, description: "The signed-in user, or null when anonymous." })
  async me(@Ctx() ctx: Context): Promise<User | null> {
    if (ctx.identity?.kind !== "user") return null;
    return ctx.em.findOne(User, { id: ctx.identity.userId });
  }

  @Query(() => UserConnection, { description: "STAFF and ADMIN: find accounts, newest first." })
  async users(
    @Arg("filter", () => UserFilter, { nullable: true }) filter: UserFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<ConnectionShape<User>> {
    requireRole(ctx, "STAFF", "ADMIN");
    const size = pageSize(first);
    const where: Record<string, unknown> = {};
    if (filter?.email) where.email = normaliseEmail(filter.email);
    if (filter?.role) where.role = filter.role;
    const search = filter?.search?.trim();
    if (search) where.$or = [{ email: { $ilike: likePattern(search) } }, { name: { $ilike: likePattern(search) } }];
    const cursor = decodeCursor(after, "users");
    const [rows, total] = await Promise.all([
      ctx.em.find(User, { $and: [where, afterDateCursor(cursor)] }, { orderBy: { createdAt: "desc", id: "desc" }, limit: size + 1 }),
      ctx.em.count(User, where),
    ]);
    return toConnection(rows, size, total, "users", (user) => ({ key: user.createdAt.toISOString(), id: user.id }));
  }

  @Mutation(() => AuthPayload)
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    const email = normaliseEmail(input.email);
    checkNewPassword(input.password, email, "input.password");
    if (await ctx.em.count(User, { email })) {
      throw new ConflictError("An account with this email already exists: sign in instead.", { field: "input.email" });
    }
    const passwordHash = await hashPassword(input.password);
    const session = await this.runtime
      .commit(ctx.em, async (tx, emit) => {
        const user = new User(email, input.name, passwordHash);
        // The user row must exist before its refresh token references it.
        await tx.persist(user).flush();
        emit(createEvent("user.registered", { userId: user.id, email: user.email, name: user.name, role: user.role }, { correlationId: user.id }));
        return openSession(this.runtime, tx, user);
      })
      .catch((error) => {
        // Two registrations racing for one email: the unique index decides.
        if ((error as { code?: string }).code === "23505")
          throw new ConflictError("An account with this email already exists: sign in instead.", { field: "input.email" });
        throw error;
      });
    return signIn(ctx, session);
  }

  @Mutation(() => AuthPayload)
  async login(@Arg("email") email: string, @Arg("password") password: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    // A missing value is a mistake in the request, not a failed sign-in: say which one. Only an empty
    // password: one of spaces is a password register accepts.
    if (!email.trim()) throw new BadUserInputError("email must not be empty: enter the address you registered with.", "email");
    if (!password) throw new BadUserInputError("password must not be empty.", "password");
    const user = await ctx.em.findOne(User, { email: normaliseEmail(email) }, { populate: ["passwordHash"] });
    // Always run one KDF, found or not: timing must not reveal which emails exist.
    const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !valid) throw new UnauthenticatedError(LOGIN_FAILED);
    return signIn(ctx, await this.runtime.commit(ctx.em, async (tx) => openSession(this.runtime, tx, user)));
  }

  @Mutation(() => AuthPayload)
  async refreshToken(@Arg("refreshToken") refreshToken: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    // The revocation of a reused family must commit even though the call fails.
    let failure = null as Error | null;
    const session = await this.runtime.commit(ctx.em, async (tx) => {
      try {
        const spent = await rotateRefreshToken(tx, refreshToken, this.runtime.settings.refreshTokenReuseGraceSeconds);
        const user = await tx.findOneOrFail(User, { id: spent.userId });
        return openSession(this.runtime, tx, user, spent.familyId);
      } catch (error) {
        failure = error as Error;
        return null;
      }
    });
    if (failure || !session) throw failure ?? new UnauthenticatedError();
    return signIn(ctx, session);
  }

  @Mutation(() => Boolean, {
    description: "Ends the sign-in this refresh token belongs to: none of its refresh tokens works any more. True even for an unknown token.",
  })
  async logout(@Arg("refreshToken") refreshToken: string, @Ctx() ctx: Context): Promise<boolean> {
    await this.runtime.commit(ctx.em, (tx) => revokeSessionOf(tx, refreshToken));
    return true;
  }

  @Mutation(() => Boolean, { description: "The signed-in user's own password; every other sign-in of theirs is ended." })
  async changePassword(
    @Arg("currentPassword") currentPassword: string,
    @Arg("newPassword") newPassword: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const caller = requireUser(ctx);
    const user = await ctx.em.findOne(User, { id: caller.userId }, { populate: ["passwordHash"] });
    if (!user) throw new UnauthenticatedError();
    if (!(await verifyPassword(currentPassword, user.passwordHash))) throw new BadUserInputError("currentPassword is incorrect.", "currentPassword");
    checkNewPassword(newPassword, user.email, "newPassword");
    if (newPassword === currentPassword) throw new BadUserInputError("newPassword must differ from the current one.", "newPassword");
    const passwordHash = await hashPassword(newPassword);
    await this.runtime.commit(ctx.em, async (tx) => {
      await tx.nativeUpdate(User, { id: user.id }, { passwordHash });
      const revoked = await revokeSessions(tx, user.id, caller.sessionId ?? null);
      audit(tx, ctx, { action: "user.password_changed", targetType: "User", targetId: user.id, details: { revokedRefreshTokens: revoked } });
    });
    return true;
  }

  @Mutation(() => Boolean, {
    description: "Mails a single-use reset token to the address if it has an account. Always true: it tells no one whether it has.",
  })
  async requestPasswordReset(@Arg("email") email: string, @Ctx() ctx: Context): Promise<boolean> {
    if (!email.trim()) throw new BadUserInputError("email must not be empty: enter the address you registered with.", "email");
    const user = await ctx.em.findOne(User, { email: normaliseEmail(email) });
    if (!user) return true;
    const { settings } = this.runtime;
    const issued = await this.runtime.commit(ctx.em, async (tx) => {
      // One account, one row lock: concurrent requests see each other's token and mail once.
      await tx.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [`password-reset:${user.id}`]);
      const recent = await tx.count(PasswordResetToken, { userId: user.id, createdAt: { $gt: new Date(Date.now() - RESET_MAIL_INTERVAL_MS) } });
      if (recent) return null;
      const reset = PasswordResetToken.issue(user.id, settings.passwordResetTtlSeconds);
      tx.persist(reset.entity);
      return reset.token;
    });
    if (issued) this.mailer.send(user.email, user.name, issued);
    return true;
  }

  @Mutation(() => AuthPayload, {
    description: "Sets a new password with a mailed reset token, signs in, and ends every other sign-in of the account.",
  })
  async resetPassword(@Arg("token") token: string, @Arg("newPassword") newPassword: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    const found = token ? await ctx.em.findOne(PasswordResetToken, { tokenHash: PasswordResetToken.hash(token) }) : null;
    if (!found || found.usedAt || found.expiresAt <= new Date()) throw new BadUserInputError(RESET_INVALID, "token");
    const user = await ctx.em.findOneOrFail(User, { id: found.userId });
    checkNewPassword(newPassword, user.email, "newPassword");
    const passwordHash = await hashPassword(newPassword);
    const session = await this.runtime.commit(ctx.em, async (tx) => {
      // Spent once: of two concurrent uses, the second finds no unused row and fails.
      const spent = await tx.nativeUpdate(PasswordResetToken, { id: found.id, usedAt: null, expiresAt: { $gt: new Date() } }, { usedAt: new Date() });
      if (!spent) throw new BadUserInputError(RESET_INVALID, "token");
      // Every outstanding reset token of the account goes with it.
      await tx.nativeUpdate(PasswordResetToken, { userId: user.id, usedAt: null }, { usedAt: new Date() });
      await tx.nativeUpdate(User, { id: user.id }, { passwordHash });
      const revoked = await revokeSessions(tx, user.id);
      audit(tx, ctx, { action: "user.password_reset", targetType: "User", targetId: user.id, details: { revokedRefreshTokens: revoked } });
      return openSession(this.runtime, tx, user);
    });
    return signIn(ctx, session);
  }

  @Mutation(() => User, { description: "ADMIN only." })
  async setUserRole(@Arg("userId", () => ID) userId: string, @Arg("role", () => RoleEnum) role: Role, @Ctx() ctx: Context): Promise<User> {
    const admin = requireRole(ctx, "ADMIN");
    if (admin.userId === userId && role !== "ADMIN") {
      throw new BadUserInputError("An admin cannot demote themself; ask another admin.", "role");
    }
    const changed = await this.runtime.commit(ctx.em, async (tx, emit) => {
      const user = isUuid(userId) ? await tx.findOne(User, { id: userId }) : null;
      if (!user) throw new NotFoundError("User", userId, "userId");
      const previousRole = user.role;
      if (previousRole !== role) {
        user.role = role;
        audit(tx, ctx, {
          action: "user.role_changed",
          targetType: "User",
          targetId: userId,
          details: { before: previousRole, after: role, email: user.email },
        });
        emit(createEvent("user.role_changed", { userId, email: user.email, name: user.name, role, previousRole }, { correlationId: userId }));
      }
      return user;
    });
    // After the commit, so no one gets a role the database does not hold. Published even when unchanged:
    // an admin retrying after a failure here gets the user's tokens corrected.
    const { config, redis } = this.runtime;
    await publishRole(redis, config.streamPrefix, changed.id, changed.role, config.jwt.accessTokenTtlSeconds);
    return changed;
  }
}
