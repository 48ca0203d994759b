import { randomUUID } from "node:crypto";
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { signAccessToken, UnauthenticatedError, type Runtime } from "@commerce/kit";
import type { User } from "../user/user.entity";
import type { UserSettings } from "../settings";
import { RefreshToken } from "./refresh-token.entity";

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

/** Issues an access token and a refresh token (a new family unless one is given). */
export function openSession(runtime: Runtime<UserSettings>, em: EntityManager, user: User, familyId: string = randomUUID()): Session {
  const { jwt } = runtime.config;
  const { token: accessToken } = signAccessToken(
    { sub: user.id, role: user.role, email: user.email },
    { keys: jwt.keys, issuer: jwt.issuer, audience: jwt.audience, ttlSeconds: jwt.accessTokenTtlSeconds },
  );
  const refresh = RefreshToken.issue(user.id, familyId, runtime.settings.refreshTokenTtlSeconds);
  em.persist(refresh.entity);
  return { accessToken, refreshToken: refresh.token, user };
}

const INVALID_REFRESH = "The refresh token is invalid or expired: sign in again.";

/**
 * Rotates a refresh token. Presenting a token that was already used is treated
 * as theft: the whole family is revoked, and the caller must sign in again.
 */
export async function rotateRefreshToken(em: EntityManager, token: string): Promise<RefreshToken> {
  const stored = await em.findOne(RefreshToken, { tokenHash: RefreshToken.hash(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!stored) throw new UnauthenticatedError(INVALID_REFRESH);
  if (stored.usedAt || stored.revokedAt) {
    await em.nativeUpdate(RefreshToken, { familyId: stored.familyId, revokedAt: null }, { revokedAt: new Date() });
    throw new UnauthenticatedError(INVALID_REFRESH);
  }
  if (!stored.isUsable()) throw new UnauthenticatedError(INVALID_REFRESH);
  stored.usedAt = new Date();
  return stored;
}
