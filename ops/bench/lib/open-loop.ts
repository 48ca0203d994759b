/**
 * Open-loop load: the i-th call is due at `start + i / rate`, whether or not earlier calls have
 * answered. A closed loop (send, wait, send) slows down with the system and hides its queueing; this
 * one keeps offering the rate, so a saturated system shows up as growing latency and backlog.
 */
import { performance } from "node:perf_hooks";

export interface OpenLoopResult {
  /** calls started */
  sent: number;
  /** first to last start, ms */
  elapsedMs: number;
  /** calls that started more than 10 ms after they were due (the generator itself fell behind) */
  late: number;
}

/**
 * Starts `fire(i)` at `rate` per second for `durationMs`; resolves when the last call has been
 * started (not answered: collect the promises `fire` returns if you need them).
 */
export async function openLoop(rate: number, durationMs: number, fire: (i: number) => void): Promise<OpenLoopResult> {
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const start = performance.now();
  let sent = 0;
  let late = 0;
  while (sent < total) {
    const now = performance.now();
    // everything due by now goes out in this turn (timers are coarse: several may be due at once)
    while (sent < total && start + sent * interval <= now) {
      if (now - (start + sent * interval) > 10) late += 1;
      fire(sent);
      sent += 1;
    }
    if (sent < total) {
      const wait = start + sent * interval - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
  }
  return { sent, elapsedMs: performance.now() - start, late };
}

/** Wall-clock time in ms with sub-millisecond precision (comparable with timestamps other processes write). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
