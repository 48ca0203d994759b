import type Redis from 'ioredis';

interface Waiting {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the acknowledgements issued in one turn of the event loop into one round trip: an XACK per
 * stream with every entry id (plus an XDEL for streams whose entries are done once acknowledged), in one
 * pipeline. A group commit settles all its events at once, so their acks leave together.
 */
export class AckBatcher {
  private pending = new Map<string, Map<string, Waiting[]>>();
  private scheduled = false;

  /**
   * @param deleteAfterAck streams whose entries are deleted once acknowledged (the replay stream: one group).
   */
  constructor(
    private readonly redis: Redis,
    private readonly group: string,
    private readonly deleteAfterAck: ReadonlySet<string>,
  ) {}

  /** Resolves once the entry is acknowledged; rejects when Redis failed (the entry stays pending). */
  ack(key: string, entryId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let entries = this.pending.get(key);
      if (!entries) this.pending.set(key, (entries = new Map()));
      const waiting = entries.get(entryId) ?? [];
      waiting.push({ resolve, reject });
      entries.set(entryId, waiting);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const pipeline = this.redis.pipeline();
    const keys = [...batch.keys()];
    for (const key of keys) {
      const ids = [...batch.get(key)!.keys()];
      pipeline.xack(key, this.group, ...ids);
      if (this.deleteAfterAck.has(key)) pipeline.xdel(key, ...ids);
    }
    let failure: unknown = null;
    try {
      const results = (await pipeline.exec()) ?? [];
      failure = results.find(([error]) => error)?.[0] ?? null;
      if (results.length === 0) failure = new Error('acknowledgement pipeline returned nothing');
    } catch (error) {
      failure = error;
    }
    for (const entries of batch.values()) {
      for (const waiting of entries.values()) {
        for (const w of waiting) failure ? w.reject(failure) : w.resolve();
      }
    }
  }
}
