import type { EnvReader } from "@commerce/kit";

/** Notification settings, read once at start-up. */
export interface NotificationSettings {
  /** Where e-mail goes (SMTP_URL); a local sink in development and tests. */
  smtpUrl: string;
  /** The From header (SMTP_FROM). */
  smtpFrom: string;
  /** Deliveries tried before a notification is FAILED (NOTIFICATION_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** First retry delay, doubled per attempt up to retryMaxMs (NOTIFICATION_RETRY_BASE_MS / _MAX_MS). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Poll fallback of the delivery job when no wake-up arrives (NOTIFICATION_POLL_MS). */
  pollMs: number;
  /** How long a claimed notification is reserved for the claiming replica (NOTIFICATION_LEASE_MS). */
  leaseMs: number;
  /** Deliveries in flight at once per replica (NOTIFICATION_CONCURRENCY). */
  concurrency: number;
}

export function readSettings(read: EnvReader): NotificationSettings {
  return {
    smtpUrl: read.url("SMTP_URL", "smtp://127.0.0.1:2525"),
    smtpFrom: read.string("SMTP_FROM", "Commerce <no-reply@commerce.local>"),
    maxAttempts: read.int("NOTIFICATION_MAX_ATTEMPTS", 5, { min: 1, max: 100 }),
    retryBaseMs: read.int("NOTIFICATION_RETRY_BASE_MS", 2_000, { min: 1, max: 3_600_000 }),
    retryMaxMs: read.int("NOTIFICATION_RETRY_MAX_MS", 300_000, { min: 1, max: 86_400_000 }),
    pollMs: read.int("NOTIFICATION_POLL_MS", 2_000, { min: 10, max: 600_000 }),
    leaseMs: read.int("NOTIFICATION_LEASE_MS", 60_000, { min: 1_000, max: 3_600_000 }),
    concurrency: read.int("NOTIFICATION_CONCURRENCY", 8, { min: 1, max: 100 }),
  };
}
