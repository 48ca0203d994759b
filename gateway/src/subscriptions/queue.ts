/**
 * A bounded FIFO with one async reader. Overflow is reported, not absorbed: a
 * subscriber that cannot keep up must not grow gateway memory without bound.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private waiting: ((value: T | null) => void) | null = null;
  private closed = false;

  constructor(private readonly capacity: number) {}

  /** Adds an item; returns false when the queue is full (the caller decides what to drop). */
  push(item: T): boolean {
    if (this.closed) return true;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(item);
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** The next item, or null once closed. */
  next(): Promise<T | null> {
    if (this.items.length) return Promise.resolve(this.items.shift() as T);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  close(): void {
    this.closed = true;
    this.waiting?.(null);
    this.waiting = null;
  }
}
