import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { LockMode } from "@mikro-orm/core";
import { ForbiddenError, requireUser, UnauthenticatedError, type Context, type Runtime } from "@commerce/kit";
import { UserRef } from "../federation/stubs";
import { Preferences, preferencesOf } from "./preferences.entity";

@Resolver(() => UserRef)
export class UserPreferencesResolver {
  @FieldResolver(() => Preferences, { description: "Which channels the user wants (the user themself only)." })
  notificationPreferences(@Root() user: UserRef, @Ctx() ctx: Context): Promise<Preferences> {
    if (!ctx.identity) throw new UnauthenticatedError();
    if (ctx.identity.kind === "user" && ctx.identity.userId !== user.id)
      throw new ForbiddenError("You can only see your own notification preferences.");
    return ctx.loader<string, Preferences>("preferencesByUserId", (ids) => preferencesOf(ctx.em, ids)).load(user.id);
  }
}

@Resolver(() => Preferences)
export class PreferencesResolver {
  constructor(private readonly runtime: Runtime) {}

  @Mutation(() => Preferences, { description: "Switches the signed-in user's channels on or off; omitted ones stay as they are." })
  async updateNotificationPreferences(
    @Ctx() ctx: Context,
    @Arg("email", () => Boolean, { nullable: true }) email?: boolean,
    @Arg("inApp", () => Boolean, { nullable: true }) inApp?: boolean,
    @Arg("sms", () => Boolean, { nullable: true }) sms?: boolean,
  ): Promise<Preferences> {
    const { userId } = requireUser(ctx);
    return this.runtime.commit(ctx.em, async (tx) => {
      // Insert-or-nothing then lock: two first-time updates cannot both insert.
      await tx.execute(
        `insert into preferences (user_id, email, in_app, sms, updated_at) values (?, true, true, false, now()) on conflict do nothing`,
        [userId],
      );
      const preferences = await tx.findOneOrFail(Preferences, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      preferences.update({ email, inApp, sms });
      return preferences;
    });
  }
}
