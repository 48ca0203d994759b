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
 * Rotates a refresh token: marks it spent and returns it, for a new token of its family to be issued.
 *
 * A token spent less than `graceSeconds` ago is answered again, still spent, with another new token
 * of its family: two tabs refreshing at once, or a client retrying after a lost response, present the
 * same token twice, and the second must neither fail nor take the first one's new token with it. The
 * window counts from the first use, so presenting the token again does not stretch it. Presenting a
 * spent token later, or a revoked one, is treated as theft: the whole family is revoked (the tokens
 * issued in the window too), and the caller must sign in again.
 *
 * Call inside a transaction: the token's row stays locked until it commits, so concurrent
 * presentations of one token are decided one after the other, each seeing the one before committed.
 */
export async function rotateRefreshToken(em: EntityManager, token: string, graceSeconds: number): Promise<RefreshToken> {
  const stored = await em.findOne(RefreshToken, { tokenHash: RefreshToken.hash(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!stored) throw new UnauthenticatedError(INVALID_REFRESH);
  const now = new Date();
  if (stored.isInReuseGrace(graceSeconds, now)) return stored;
  if (stored.usedAt || stored.revokedAt) {
    await em.nativeUpdate(RefreshToken, { familyId: stored.familyId, revokedAt: null }, { revokedAt: now });
    throw new UnauthenticatedError(INVALID_REFRESH);
  }
  if (!stored.isUsable(now)) throw new UnauthenticatedError(INVALID_REFRESH);
  stored.usedAt = now;
  return stored;
}
