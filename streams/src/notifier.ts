import type { Configuration } from '@mikro-orm/core';

/**
 * Wakes relays in this process when a transaction has committed outbox rows, so an event does not wait
 * for the next poll. Relays in other processes are woken by `NOTIFY outbox` instead.
 */
export class OutboxNotifier {
  private readonly listeners = new Set<() => void>();

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}

// One notifier per ORM instance (forks share its Configuration), created on first use rather than at
// import: a relay and `commitWithEvents` on the same ORM meet here without being wired together by hand.
const notifiers = new WeakMap<Configuration, OutboxNotifier>();

/** The notifier shared by every EntityManager of the ORM that owns `config`. */
export function notifierFor(config: Configuration): OutboxNotifier {
  let notifier = notifiers.get(config);
  if (!notifier) {
    notifier = new OutboxNotifier();
    notifiers.set(config, notifier);
  }
  return notifier;
}
