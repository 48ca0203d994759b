import { groupBySlot, type RedisClient } from "./redis-client";

interface Waiting {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the acknowledgements issued in one turn of the event loop into one round trip: an XACK per
 * stream with every entry id (plus an XDEL for streams whose entries are done once acknowledged), in one
 * pipeline per cluster slot. A group commit settles all its events at once, so their acks leave together.
 */
export class AckBatcher {
  private pending = new Map<string, Map<string, Waiting[]>>();
  private scheduled = false;

  /**
   * @param deleteAfterAck streams whose entries are deleted once acknowledged (the replay stream: one group).
   */
  constructor(
    private readonly redis: RedisClient,
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
    // Each stream's waiters settle on their own command's reply.
    const settle = (key: string, error: unknown) => {
      for (const waiting of batch.get(key)!.values()) for (const w of waiting) error ? w.reject(error) : w.resolve();
    };
    // Plain streams: an XACK each, in one pipeline per slot. Streams whose entries are done once
    // acknowledged (one group reads them): XACK and XDEL in a MULTI of their own, never acknowledged yet left behind.
    const plain = groupBySlot(
      this.redis,
      [...batch.keys()].filter((key) => !this.deleteAfterAck.has(key)),
      (key) => key,
    );
    const pipelines = plain.map(async (keys) => {
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.xack(key, this.group, ...batch.get(key)!.keys());
      try {
        const results = await pipeline.exec();
        keys.forEach((key, i) => {
          const reply = results?.[i];
          settle(key, reply ? reply[0] : new Error("no reply to the acknowledgement"));
        });
      } catch (error) {
        keys.forEach((key) => settle(key, error));
      }
    });
    const transactions = [...batch.keys()]
      .filter((key) => this.deleteAfterAck.has(key))
      .map(async (key) => {
        const ids = [...batch.get(key)!.keys()];
        try {
          const results = await this.redis
            .multi()
            .xack(key, this.group, ...ids)
            .xdel(key, ...ids)
            .exec();
          settle(key, !results ? new Error("MULTI aborted") : (results.find(([e]) => e)?.[0] ?? null));
        } catch (error) {
          settle(key, error);
        }
      });
    await Promise.all([...pipelines, ...transactions]);
  }
}
