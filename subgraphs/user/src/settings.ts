import type { EnvReader } from "@commerce/kit";

export interface UserSettings {
  refreshTokenTtlSeconds: number;
  /**
   * How long after a refresh token was rotated it is still answered, with a new token of its family,
   * instead of being taken as stolen: two tabs refreshing at once, or a client retrying after a lost
   * response. 0 turns the grace off.
   */
  refreshTokenReuseGraceSeconds: number;
  /** How long a password reset token is valid (PASSWORD_RESET_TTL, seconds). */
  passwordResetTtlSeconds: number;
  /** The page a reset mail links to, with `?token=` appended (PASSWORD_RESET_URL). */
  passwordResetUrl: string;
  /** Where reset mails go (SMTP_URL, SMTP_FROM), as for the notification service. */
  smtpUrl: string;
  smtpFrom: string;
  /** The bootstrap admin, created on start when both are set. */
  admin: { email: string; password: string } | null;
}

export function readSettings(read: EnvReader): UserSettings {
  const email = read.optionalString("ADMIN_EMAIL");
  const password = read.optionalString("ADMIN_PASSWORD");
  return {
    refreshTokenTtlSeconds: read.int("REFRESH_TOKEN_TTL", 30 * 24 * 3600, { min: 60 }),
    refreshTokenReuseGraceSeconds: read.int("REFRESH_TOKEN_REUSE_GRACE", 5, { min: 0, max: 60 }),
    passwordResetTtlSeconds: read.int("PASSWORD_RESET_TTL", 1800, { min: 60, max: 24 * 3600 }),
    passwordResetUrl: read.url("PASSWORD_RESET_URL", "http://localhost:4000/reset-password"),
    smtpUrl: read.url("SMTP_URL", "smtp://127.0.0.1:2525"),
    smtpFrom: read.string("SMTP_FROM", "Commerce <no-reply@commerce.local>"),
    admin: email && password ? { email, password } : null,
  };
}
