import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { createEvent } from "@commerce/streams";
import {
  BadUserInputError,
  ConflictError,
  NotFoundError,
  UnauthenticatedError,
  audit,
  publishRole,
  requireRole,
  type Context,
  type Role,
  type Runtime,
  isUuid,
} from "@commerce/kit";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../auth/password";
import { openSession, rotateRefreshToken } from "../auth/sessions";
import { signIn } from "../auth/signed-in";
import type { UserSettings } from "../settings";
import { User, RoleEnum, normaliseEmail } from "./user.entity";
import { AuthPayload, RegisterInput } from "./user.inputs";

const LOGIN_FAILED = "Email or password is incorrect.";

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly runtime: Runtime<UserSettings>) {}

  @Query(() => User, { nullable: true, description: "The signed-in user, or null when anonymous." })
  async me(@Ctx() ctx: Context): Promise<User | null> {
    if (ctx.identity?.kind !== "user") return null;
    return ctx.em.findOne(User, { id: ctx.identity.userId });
  }

  @Mutation(() => AuthPayload)
  async register(@Arg("input") input: RegisterInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    const email = normaliseEmail(input.email);
    if (await ctx.em.count(User, { email })) {
      throw new ConflictError("An account with this email already exists: sign in instead.", { field: "input.email" });
    }
    const passwordHash = await hashPassword(input.password);
    const session = await this.runtime.commit(ctx.em, async (tx, emit) => {
      const user = new User(email, input.name, passwordHash);
      // The user row must exist before its refresh token references it.
      await tx.persist(user).flush();
      emit(createEvent("user.registered", { userId: user.id, email: user.email, name: user.name, role: user.role }, { correlationId: user.id }));
      return openSession(this.runtime, tx, user);
    }).catch((error) => {
      // Two registrations racing for one email: the unique index decides.
      if ((error as { code?: string }).code === "23505") throw new ConflictError("An account with this email already exists: sign in instead.", { field: "input.email" });
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

  @Mutation(() => User, { description: "ADMIN only." })
  async setUserRole(
    @Arg("userId", () => ID) userId: string,
    @Arg("role", () => RoleEnum) role: Role,
    @Ctx() ctx: Context,
  ): Promise<User> {
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
        audit(tx, ctx, { action: "user.role_changed", targetType: "User", targetId: userId, details: { before: previousRole, after: role, email: user.email } });
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
