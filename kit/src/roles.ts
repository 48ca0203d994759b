import type { RedisClient } from "@commerce/streams";
import type { Logger } from "pino";
import { ROLES, type Identity, type Role } from "./auth";

/**
 * Role changes take effect at once: a published role (Redis) overrides the token's; the lookup fails
 * open to the token's role after {@link LOOKUP_TIMEOUT_MS} (docs/AUTHORIZATION.md, "Roles change at once").
 */

const LOOKUP_TIMEOUT_MS = 250;
/** Covers the clock skew `verifyAccessToken` allows, with room to spare. */
const SKEW_SECONDS = 60;

const roleKey = (prefix: string, userId: string) => `${prefix}:auth:role:${userId}`;

/** Publishes `userId`'s current role; call after the change committed. */
export async function publishRole(redis: RedisClient, prefix: string, userId: string, role: Role, accessTokenTtlSeconds: number): Promise<void> {
  await redis.set(roleKey(prefix, userId), role, "EX", accessTokenTtlSeconds + SKEW_SECONDS);
}

/** The caller with their current role when one was published since their token was issued. */
export async function withCurrentRole(redis: RedisClient, prefix: string, identity: Identity | null, logger: Logger): Promise<Identity | null> {
  if (identity?.kind !== "user") return identity;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), LOOKUP_TIMEOUT_MS);
  });
  try {
    const current = await Promise.race([redis.get(roleKey(prefix, identity.userId)), timeout]);
    if (current === "timeout") {
      logger.warn({ userId: identity.userId }, "role lookup timed out; using the token's role");
      return identity;
    }
    if (!current || current === identity.role || !(ROLES as readonly string[]).includes(current)) return identity;
    return { ...identity, role: current as Role };
  } catch (error) {
    logger.warn({ err: error, userId: identity.userId }, "role lookup failed; using the token's role");
    return identity;
  } finally {
    clearTimeout(timer);
  }
}
