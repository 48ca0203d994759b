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
    { sub: user.id, role: user.role, email: user.email, sid: familyId },
    { keys: jwt.keys, issuer: jwt.issuer, audience: jwt.audience, ttlSeconds: jwt.accessTokenTtlSeconds },
  );
  const refresh = RefreshToken.issue(user.id, familyId, runtime.settings.refreshTokenTtlSeconds);
  em.persist(refresh.entity);
  return { accessToken, refreshToken: refresh.token, user };
}

const INVALID_REFRESH = "The refresh token is invalid or expired: sign in again.";

/** Presentations of a just-rotated token answered within the grace, besides its rotation (tabs, retries). */
export const MAX_REUSE_ANSWERS = 3;

/**
 * Rotates a refresh token: marks it spent and returns it, for a new token of its family to be issued.
 * Within `graceSeconds` of its first use a spent token is answered again (at most {@link MAX_REUSE_ANSWERS}
 * times); later, or revoked, it revokes its whole family (docs/SERVICES.md, "Refresh token rotation").
 * Call inside a transaction: the row stays locked, so concurrent presentations are decided one by one.
 */
export async function rotateRefreshToken(em: EntityManager, token: string, graceSeconds: number): Promise<RefreshToken> {
  const found = await em.findOne(RefreshToken, { tokenHash: RefreshToken.hash(token) });
  if (!found) throw new UnauthenticatedError(INVALID_REFRESH);
  // One decision per family at a time, until commit: a revocation then sees every token of the family,
  // including one that a transaction rotating a sibling token was issuing (under READ COMMITTED the
  // revoking UPDATE would not see that row, and it would outlive the revocation).
  await em.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [found.familyId]);
  const stored = await em.findOneOrFail(RefreshToken, { id: found.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  const now = new Date();
  // The grace answers a few callers, not any number: past MAX_REUSE_ANSWERS, presenting the token is
  // a replay like any other. Counted on the row, under its lock (no clock of any replica involved).
  if (stored.isInReuseGrace(graceSeconds, now) && stored.reuseAnswers < MAX_REUSE_ANSWERS) {
    stored.reuseAnswers += 1;
    return stored;
  }
  if (stored.usedAt || stored.revokedAt) {
    await em.nativeUpdate(RefreshToken, { familyId: stored.familyId, revokedAt: null }, { revokedAt: now });
    throw new UnauthenticatedError(INVALID_REFRESH);
  }
  if (!stored.isUsable(now)) throw new UnauthenticatedError(INVALID_REFRESH);
  stored.usedAt = now;
  return stored;
}

/**
 * Revokes every refresh token of `userId` that is still live, except those of the sign-in `keepFamilyId`:
 * those sessions cannot be refreshed any more (their access tokens live out ACCESS_TOKEN_TTL).
 */
export async function revokeSessions(em: EntityManager, userId: string, keepFamilyId: string | null = null): Promise<number> {
  const where = keepFamilyId ? { userId, revokedAt: null, familyId: { $ne: keepFamilyId } } : { userId, revokedAt: null };
  return em.nativeUpdate(RefreshToken, where, { revokedAt: new Date() });
}

/** Revokes the sign-in a refresh token belongs to (logout). Unknown tokens are left alone. */
export async function revokeSessionOf(em: EntityManager, token: string): Promise<void> {
  const found = await em.findOne(RefreshToken, { tokenHash: RefreshToken.hash(token) });
  if (found) await em.nativeUpdate(RefreshToken, { familyId: found.familyId, revokedAt: null }, { revokedAt: new Date() });
}
