import DataLoader from "dataloader";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import type { Identity, Role } from "./auth";
import { ForbiddenError, UnauthenticatedError } from "./errors";

/**
 * Everything a resolver may touch during one GraphQL request: its own
 * EntityManager fork, the verified caller, per-request DataLoaders and a logger
 * carrying the request id.
 */
export interface Context {
  em: EntityManager;
  identity: Identity | null;
  requestId: string;
  logger: Logger;
  /** A DataLoader created on first use and cached for the rest of the request. */
  loader<K, V>(name: string, batch: (keys: readonly K[]) => Promise<(V | Error)[]>): DataLoader<K, V>;
}

export function createContext(init: Omit<Context, "loader">): Context {
  const loaders = new Map<string, DataLoader<unknown, unknown>>();
  return {
    ...init,
    loader<K, V>(name: string, batch: (keys: readonly K[]) => Promise<(V | Error)[]>) {
      let loader = loaders.get(name) as DataLoader<K, V> | undefined;
      if (!loader) {
        loader = new DataLoader<K, V>(batch, { maxBatchSize: 500 });
        loaders.set(name, loader as DataLoader<unknown, unknown>);
      }
      return loader;
    },
  };
}

export type UserIdentity = Extract<Identity, { kind: "user" }>;

/** The signed-in user, or UNAUTHENTICATED. */
export function requireUser(ctx: Pick<Context, "identity">): UserIdentity {
  if (ctx.identity?.kind !== "user") throw new UnauthenticatedError();
  return ctx.identity;
}

/** The signed-in user holding one of `roles`, or FORBIDDEN. */
export function requireRole(ctx: Pick<Context, "identity">, ...roles: Role[]): UserIdentity {
  const user = requireUser(ctx);
  if (!roles.includes(user.role)) throw new ForbiddenError(`This needs one of the roles ${roles.join(", ")}.`);
  return user;
}

export const isStaff = (identity: Identity | null): boolean =>
  identity?.kind === "service" || (identity?.kind === "user" && (identity.role === "STAFF" || identity.role === "ADMIN"));

/** Owner, STAFF, ADMIN (and our own services) may see a user's resource; others get FORBIDDEN. */
export function requireOwnerOrStaff(ctx: Pick<Context, "identity">, ownerId: string): void {
  if (ctx.identity?.kind === "service") return;
  const user = requireUser(ctx);
  if (user.userId !== ownerId && !isStaff(user)) throw new ForbiddenError("You can only see your own data.");
}

/**
 * `__resolveReference` for an entity private to its owner: `_entities` answers only a signed-in
 * caller who owns it, STAFF, ADMIN or one of our services (UNAUTHENTICATED, FORBIDDEN otherwise; an
 * unknown id is null), so an entity reached straight through `_entities` is as guarded as its root field.
 */
export function ownedReference<T>(load: (id: string, ctx: Context) => Promise<T | null>, ownerOf: (entity: T) => string) {
  return {
    __resolveReference: async (reference: { id: string }, ctx: Context): Promise<T | null> => {
      if (!ctx.identity) throw new UnauthenticatedError();
      const entity = await load(reference.id, ctx);
      if (entity) requireOwnerOrStaff(ctx, ownerOf(entity));
      return entity;
    },
  };
}
