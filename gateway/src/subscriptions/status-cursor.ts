/** Statuses in which an order never changes again: its subscription completes after one of them. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["COMPLETED", "CANCELLED", "OUT_OF_STOCK", "PAYMENT_FAILED"]);

export interface StatusPoint {
  status: string;
  /** ISO time of the change, as in `statusHistory.at` and the event's `at`. */
  at: string;
}

/**
 * Where one subscriber stands in its order's status history, so each change reaches it once and in
 * order; times compare to the millisecond, ties told apart by status (docs/GATEWAY.md, "Status cursor").
 */
export class StatusCursor {
  private lastAt = Number.NEGATIVE_INFINITY;
  private statusesAtLast = new Set<string>();

  /** @param history what the subscriber has already been sent, oldest first */
  constructor(history: readonly StatusPoint[] = []) {
    for (const point of history) this.accept(point);
  }

  /** True (and remembered) when `change` is new to the subscriber; false for a duplicate or a stale change. */
  accept(change: StatusPoint): boolean {
    const at = Date.parse(change.at);
    if (Number.isNaN(at) || at < this.lastAt) return false;
    if (at === this.lastAt) {
      if (this.statusesAtLast.has(change.status)) return false;
      this.statusesAtLast.add(change.status);
      return true;
    }
    this.lastAt = at;
    this.statusesAtLast = new Set([change.status]);
    return true;
  }
}
