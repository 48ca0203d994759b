import { backoff } from "./timing";

/** Settings of {@link decideRetry}. */
export interface RetrySettings {
  /** Deliveries before an entry is dead-lettered. */
  maxDeliveries: number;
  /** First retry delay; doubles per delivery (or per failed attempt of an outage). */
  baseMs: number;
  /** Retry delay cap. */
  maxMs: number;
}

/**
 * What to do after a handler attempt threw:
 * - `dead-letter`: give up, the entry goes to the dead letters with `attempts`;
 * - `retry`: wait `delayMs`, then try again; `counted` says whether the next attempt counts as a delivery.
 */
export type RetryDecision = { kind: "dead-letter"; attempts: number } | { kind: "retry"; delayMs: number; counted: boolean };

/**
 * The retry rule of a consumer. A handler failure counts a delivery, backs off by deliveries and ends in
 * the dead letters after `maxDeliveries`; a transient infrastructure failure (the database down) says
 * nothing about the event: it backs off by its own count (`outage`) and never dead-letters.
 */
export function decideRetry(failure: { deliveries: number; transient: boolean; outage: number }, settings: RetrySettings): RetryDecision {
  if (failure.transient) return { kind: "retry", delayMs: backoff(failure.outage, settings.baseMs, settings.maxMs), counted: false };
  if (failure.deliveries >= settings.maxDeliveries) return { kind: "dead-letter", attempts: failure.deliveries };
  return { kind: "retry", delayMs: backoff(failure.deliveries, settings.baseMs, settings.maxMs), counted: true };
}

/**
 * An entry delivered more often than `maxDeliveries` before any attempt here: consumers crashed while
 * handling it (a crash loop), so it is dead-lettered unread; `attempts` are the deliveries before this one.
 */
export function crashLooped(deliveries: number, maxDeliveries: number): { attempts: number } | null {
  return deliveries > maxDeliveries ? { attempts: deliveries - 1 } : null;
}
