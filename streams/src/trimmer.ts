import type { Producer } from "@commerce/schema";
import type { RedisClient } from "./redis-client";
import type { Logger } from "pino";
import { streamKey } from "./keys";
import { compareStreamIds, nextStreamId } from "./wire";

/** Options of {@link StreamTrimmer}. */
export interface StreamTrimmerOptions {
  redis: RedisClient;
  prefix: string;
  producers: Producer[];
  /** Default 60 s. */
  intervalMs?: number;
  /** Entries to keep however old, for people looking at the stream. Default 0. */
  keepRecent?: number;
  /** A stream no group reads (a live feed, read with XREAD) is cut to entries younger than this; unset: left alone. */
  maxAgeWithoutGroupMs?: number;
  logger?: Logger;
}

/**
 * Keeps streams bounded without ever dropping what a group still needs: each stream is cut (XTRIM MINID)
 * at the oldest entry any group has pending or has not read yet. A stream with no group is left alone,
 * since a group created later starts at `0` and expects to see everything, unless it is a live feed
 * (`maxAgeWithoutGroupMs`): then it keeps only recent entries.
 */
export class StreamTrimmer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly options: StreamTrimmerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.trimAll()
        .catch((error) => this.options.logger?.warn({ err: error }, "stream trimming failed; retried at the next interval"))
        .finally(() => (this.running = null));
    }, this.options.intervalMs ?? 60_000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Trims every stream once; returns the entries removed per producer. */
  async trimAll(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const producer of this.options.producers) {
      removed[producer] = await this.trim(streamKey(this.options.prefix, producer));
    }
    return removed;
  }

  /** Trims one stream; returns how many entries were removed. */
  async trim(key: string): Promise<number> {
    const minId = await this.safeMinId(key);
    if (!minId) return 0;
    return (await this.options.redis.xtrim(key, "MINID", minId)) as number;
  }

  /**
   * The smallest id some group still needs. Every input only moves forward (acks, reads), so a value
   * computed a moment ago is still safe when XTRIM runs. (An operator moving a group back with
   * XGROUP SETID is the exception: do not trim while doing that.)
   */
  private async safeMinId(key: string): Promise<string | null> {
    const { redis } = this.options;
    let groups: string[][];
    try {
      groups = (await redis.xinfo("GROUPS", key)) as string[][];
    } catch (error) {
      if (String(error).includes("no such key")) return null;
      throw error;
    }
    if (groups.length === 0) {
      const maxAge = this.options.maxAgeWithoutGroupMs;
      return maxAge === undefined ? null : `${Math.max(0, Date.now() - maxAge)}-0`;
    }
    let min: string | null = null;
    for (const raw of groups) {
      const group: Record<string, string> = {};
      for (let i = 0; i + 1 < raw.length; i += 2) group[String(raw[i])] = String(raw[i + 1]);
      const needed =
        Number(group.pending) > 0
          ? ((await redis.xpending(key, group.name!)) as [number, string, string, unknown])[1]
          : nextStreamId(group["last-delivered-id"]!);
      if (!min || compareStreamIds(needed, min) < 0) min = needed;
    }
    const keep = this.options.keepRecent ?? 0;
    if (keep > 0 && min) {
      const recent = (await redis.xrevrange(key, "+", "-", "COUNT", keep)) as [string, string[]][];
      const oldestKept = recent[recent.length - 1]?.[0];
      if (oldestKept && compareStreamIds(oldestKept, min) < 0) min = oldestKept;
    }
    return min;
  }
}
