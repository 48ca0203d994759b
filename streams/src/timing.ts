/**
 * A wake-up flag a loop can wait on: `wait(ms)` resolves after `ms`, or at once when `wake()` was called
 * since the last wait. A wake that arrives while the loop is busy is remembered, never lost.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | null = null;

  wake(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Forgets earlier wakes: call just before looking for work, so only wakes after the look count. */
  clear(): void {
    this.pending = false;
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolve = null;
        self.pending = false;
        resolve();
      }
      this.resolve = done;
    });
  }
}

/** Sleeps `ms`, or less if `signal` aborts. Never rejects: callers check `signal.aborted`. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(finish, ms);
    signal?.addEventListener("abort", finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      resolve();
    }
  });
}

/** Exponential backoff: `base * 2^(attempt-1)`, capped at `max`, with ±20% jitter so replicas do not retry in step. */
export function backoff(attempt: number, base: number, max: number): number {
  const exact = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(exact * (0.8 + Math.random() * 0.4));
}
