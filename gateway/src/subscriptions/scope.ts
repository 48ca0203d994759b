import type { Identity, Role } from "@commerce/kit";

/**
 * The authorization scope a subscriber reads one order in: subscribers of one change with the same
 * selection and scope key share one execution. Owner: that user; STAFF/ADMIN non-owner: their current
 * role (`role` set); anyone else: a scope of their own (docs/GATEWAY.md, "Subscription scopes").
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
