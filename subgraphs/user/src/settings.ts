import type { EnvReader } from "@commerce/kit";

export interface UserSettings {
  refreshTokenTtlSeconds: number;
  /** The bootstrap admin, created on start when both are set. */
  admin: { email: string; password: string } | null;
}

export function readSettings(read: EnvReader): UserSettings {
  const email = read.optionalString("ADMIN_EMAIL");
  const password = read.optionalString("ADMIN_PASSWORD");
  return {
    refreshTokenTtlSeconds: read.int("REFRESH_TOKEN_TTL", 30 * 24 * 3600, { min: 60 }),
    admin: email && password ? { email, password } : null,
  };
}
