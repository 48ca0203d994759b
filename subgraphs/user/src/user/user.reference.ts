import { isUuid, ownedReference } from "@commerce/kit";
import type { Context } from "@commerce/kit";
import { User } from "./user.entity";

const userById = (ctx: Context) =>
  ctx.loader<string, User | null>("userById", async (ids) => {
    // A malformed id names no user; in the query it would fail the whole batch.
    const users = await ctx.em.find(User, { id: { $in: ids.filter(isUuid) } });
    const byId = new Map(users.map((user) => [user.id, user]));
    return ids.map((id) => byId.get(id) ?? null);
  });

/** Resolves `User` entities (e-mail, role, name), batched per request, for the user themself, STAFF and ADMIN. */
export const userReference = ownedReference(
  (id, ctx) => userById(ctx).load(id),
  (user) => user.id,
);
