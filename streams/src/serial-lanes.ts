/**
 * Runs tasks one after another per key and in parallel across keys: the per-correlationId ordering of
 * the consumer. A task starts only after every earlier task of its key has settled.
 */
export class SerialLanes {
  private readonly tails = new Map<string, Promise<void>>();

  /** Queues `task` behind the tasks of `key`; resolves when it has run. `task` must not reject. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const tail = previous.then(task);
    this.tails.set(key, tail);
    return tail.finally(() => {
      // Forget idle lanes so the map holds only keys with queued work.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
  }

  /** Keys with queued or running work. */
  get size(): number {
    return this.tails.size;
  }
}
