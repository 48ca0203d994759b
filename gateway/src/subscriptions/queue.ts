import type { ExecutionResult } from "graphql";

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

/**
 * An iterator over `generator` whose `return()` (client completes, socket closes) calls `close` at
 * once, even while it waits for the next item, which a plain async generator cannot do.
 */
export function closable<T>(generator: AsyncGenerator<T>, close: () => void): AsyncIterableIterator<T> {
  return {
    next: () => generator.next(),
    return: (value?: unknown) => {
      close();
      return generator.return(value as undefined);
    },
    throw: (error?: unknown) => {
      close();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** What a subscription needs from its socket. */
export interface SocketHooks {
  /** True when the subscriber's socket has more unsent bytes than it may. */
  backlogged(): boolean;
  /** The subscriber cannot keep up: drop its connection (it resubscribes and gets the current state). */
  tooSlow(): void;
  /** Called once, when the subscription ends for whatever reason. */
  released(): void;
}

/** A subscription fed by a feed listener through a bounded queue; subclasses turn events into messages. */
export abstract class QueuedSubscription<E> {
  protected readonly queue: BoundedQueue<E>;
  protected unlisten: () => void = () => undefined;
  protected closed = false;

  constructor(
    capacity: number,
    private readonly hooks: SocketHooks,
  ) {
    this.queue = new BoundedQueue<E>(capacity);
  }

  /** The stream graphql-ws sends from; `return()` ends it at once. */
  iterator(): AsyncIterableIterator<ExecutionResult> {
    return closable(this.events(), () => this.close());
  }

  /** Stops listening and releases the subscription's slot; safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    this.queue.close();
    this.hooks.released();
  }

  protected enqueue(event: E): void {
    if (this.closed) return;
    if (!this.queue.push(event) || this.hooks.backlogged()) this.hooks.tooSlow();
  }

  protected abstract events(): AsyncGenerator<ExecutionResult>;
}
