import type { Identity, Role } from "@commerce/kit";

/**
 * The authorization scope a subscriber reads one order in. Subscribers of the same change with the
 * same selection and the same scope key get one execution, fanned out to all of them.
 *
 * - The order's owner reads it as themselves (`user { wallet }`, `notificationPreferences` are theirs
 *   only): the scope is that user.
 * - A STAFF or ADMIN member who does not own the order gets what the role allows, whoever they are
 *   (docs/AUTHORIZATION.md: for someone else's order every rule is the role's or owner-only): the
 *   scope is the role, provided it is their current role (a published role change wins over the token).
 *   `role` is then set: the shared answer is valid only while the executing member still holds it.
 * - Anyone else is a scope of their own (nothing shared across principals).
 */
export interface Scope {
  key: string;
  role?: Role;
}

/** `current` is the subscriber with the role the subgraphs will apply (kit `withCurrentRole`). */
export async function scopeOf(identity: Identity, ownerId: string, current: (identity: Identity) => Promise<Identity>): Promise<Scope> {
  if (identity.kind !== "user") return { key: `service:${identity.service}` };
  const own = { key: `user:${identity.userId}:${identity.role}` };
  if (identity.userId === ownerId || (identity.role !== "STAFF" && identity.role !== "ADMIN")) return own;
  const now = await current(identity);
  return now.kind === "user" && now.role === identity.role ? { key: `role:${identity.role}`, role: identity.role } : own;
}

/** The scope of a read whose owner is not known yet (the current state of an order): the subscriber alone. */
export function ownScope(identity: Identity): Scope {
  return { key: identity.kind === "user" ? `user:${identity.userId}:${identity.role}` : `service:${identity.service}` };
}
