import type { EnvReader } from "@commerce/kit";

export interface UserSettings {
  refreshTokenTtlSeconds: number;
  /**
   * How long after a refresh token was rotated it is still answered, with a new token of its family,
   * instead of being taken as stolen: two tabs refreshing at once, or a client retrying after a lost
   * response. 0 turns the grace off.
   */
  refreshTokenReuseGraceSeconds: number;
  /** The bootstrap admin, created on start when both are set. */
  admin: { email: string; password: string } | null;
}

export function readSettings(read: EnvReader): UserSettings {
  const email = read.optionalString("ADMIN_EMAIL");
  const password = read.optionalString("ADMIN_PASSWORD");
  return {
    refreshTokenTtlSeconds: read.int("REFRESH_TOKEN_TTL", 30 * 24 * 3600, { min: 60 }),
    refreshTokenReuseGraceSeconds: read.int("REFRESH_TOKEN_REUSE_GRACE", 5, { min: 0, max: 60 }),
    admin: email && password ? { email, password } : null,
  };
}
