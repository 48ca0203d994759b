import { isUuid } from "@commerce/kit";
import type { Context } from "@commerce/kit";
import { User } from "./user.entity";

/** Resolves `User` entities for the gateway, batched per request. */
export const userReference = {
  __resolveReference: (reference: { id: string }, ctx: Context) =>
    ctx
      .loader<string, User | null>("userById", async (ids) => {
        // A malformed id names no user; in the query it would fail the whole batch.
        const users = await ctx.em.find(User, { id: { $in: ids.filter(isUuid) } });
        const byId = new Map(users.map((user) => [user.id, user]));
        return ids.map((id) => byId.get(id) ?? null);
      })
      .load(reference.id),
};
