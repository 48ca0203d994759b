import type { Logger } from "pino";
import { parseEvent, type EventOf, type EventType, type Producer } from "@commerce/schema";
import { streamKey, type RedisClient } from "@commerce/streams";

export type StatusChange = EventOf<"order.status_changed">;
export type NotificationCreated = EventOf<"notification.created">;

const RECENT_IDS = 10_000;

/** Which events a feed reads: one type of one stream, fanned out by a key (an order id, a user id). */
export interface FeedSource<T extends EventType> {
  stream: Producer;
  type: T;
  keyOf: (event: EventOf<T>) => string;
}

/**
 * Reads one stream and fans one event type out to this gateway's subscribers.
 * Every gateway replica reads the whole stream with plain XREAD (not a consumer
 * group): each replica must see every event, since any of them may hold the
 * subscriber's socket. `redis` is the feed's own client, whatever the number of subscribers: its
 * blocking XREAD holds the connection (on a cluster, the one to the stream's master), so nothing else
 * may share it. A failed read (fail-over, MOVED, reset) is retried from the last id read: no event is
 * skipped, and one read twice is dispatched once.
 */
export class EventFeed<T extends EventType> {
  private readonly byKey = new Map<string, Set<(event: EventOf<T>) => void>>();
  private readonly all = new Set<(event: EventOf<T>) => void>();
  private running = false;
  /** Resolved by stop(): ends a read the client may never settle (a cluster client mid fail-over). */
  private stopped: () => void = () => undefined;
  private readonly whenStopped = new Promise<null>((resolve) => (this.stopped = () => resolve(null)));
  private loop: Promise<void> | null = null;
  private lastId = "$";
  /** Ids of recently dispatched events: the relay delivers at least once, subscribers see each change once. */
  private readonly recent = new Set<string>();
  private readonly ring = new Array<string | undefined>(RECENT_IDS);
  private ringAt = 0;
  private dispatched = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly source: FeedSource<T>,
  ) {}

  /** Starts reading from "now": the first event a new subscriber gets is the order's current state, fetched directly. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Pin the starting point so events written between start() and the first XREAD are not skipped.
    const last = (await this.redis.xrevrange(streamKey(this.prefix, this.source.stream), "+", "-", "COUNT", 1)) as [string, string[]][];
    this.lastId = last[0]?.[0] ?? "0-0";
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped();
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }

  /** Listens for the events of one key (an order, a user); returns the function that stops listening. */
  onKey(key: string, listener: (event: EventOf<T>) => void): () => void {
    let listeners = this.byKey.get(key);
    if (!listeners) this.byKey.set(key, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (!listeners.size) this.byKey.delete(key);
    };
  }

  /** Listens for every event (filtering is the listener's job). */
  onAny(listener: (event: EventOf<T>) => void): () => void {
    this.all.add(listener);
    return () => this.all.delete(listener);
  }

  /**
   * How many status changes have been dispatched so far. Two subscribers that
   * started listening at the same position have missed the same changes, so
   * they may share one read of the current state.
   */
  get position(): number {
    return this.dispatched;
  }

  get listenerCount(): number {
    let count = this.all.size;
    for (const set of this.byKey.values()) count += set.size;
    return count;
  }

  private async run(): Promise<void> {
    const key = streamKey(this.prefix, this.source.stream);
    let backoff = 100;
    while (this.running) {
      try {
        const response = (await Promise.race([this.redis.xread("COUNT", 500, "BLOCK", 1000, "STREAMS", key, this.lastId), this.whenStopped])) as
          [string, [string, string[]][]][] | null;
        backoff = 100;
        for (const [, entries] of response ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            this.dispatch(fields);
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.logger.warn({ err: error, stream: this.source.stream }, "event feed: redis read failed, retrying");
        await new Promise((resolve) => setTimeout(resolve, backoff));
        // A fail-over is over within seconds: retry often enough that subscribers hardly notice it.
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  private seen(id: string): boolean {
    if (this.recent.has(id)) return true;
    // A redelivery comes soon after the original (a relay retry), so a short memory is enough.
    const evicted = this.ring[this.ringAt];
    if (evicted !== undefined) this.recent.delete(evicted);
    this.ring[this.ringAt] = id;
    this.ringAt = (this.ringAt + 1) % RECENT_IDS;
    this.recent.add(id);
    return false;
  }

  private dispatch(fields: string[]): void {
    // Entries are flat field lists: id, type, envelope (see streams/PROTOCOL.md).
    const field = (name: string) => {
      const index = fields.indexOf(name);
      return index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
    };
    if (field("type") !== this.source.type) return;
    const raw = field("envelope");
    if (!raw) return;
    let event;
    try {
      event = parseEvent(JSON.parse(raw));
    } catch (error) {
      // Malformed events are the consumers' dead-letter business; the feed just skips them.
      this.logger.debug({ err: error }, "event feed: skipping malformed entry");
      return;
    }
    if (event.type !== this.source.type || this.seen(event.id)) return;
    const typed = event as EventOf<T>;
    this.dispatched += 1;
    for (const listener of this.byKey.get(this.source.keyOf(typed)) ?? []) this.notify(listener, typed);
    for (const listener of this.all) this.notify(listener, typed);
  }

  /** One subscriber's failure must not cost the others the rest of the batch. */
  private notify(listener: (event: EventOf<T>) => void, event: EventOf<T>): void {
    try {
      listener(event);
    } catch (error) {
      this.logger.error({ err: error, eventId: event.id }, "event feed: a listener failed");
    }
  }
}

/** `order.status_changed`, by order: what `orderStatusChanged` and `myOrderUpdates` serve. */
export class OrderEventFeed extends EventFeed<"order.status_changed"> {
  constructor(redis: RedisClient, prefix: string, logger: Logger) {
    super(redis, prefix, logger, { stream: "order", type: "order.status_changed", keyOf: (event) => event.payload.orderId });
  }

  /** Listens for one order's changes; returns the function that stops listening. */
  onOrder(orderId: string, listener: (event: StatusChange) => void): () => void {
    return this.onKey(orderId, listener);
  }
}

/** In-app notifications as they are written, by owner: what `myNotifications` serves. */
export class NotificationFeed extends EventFeed<"notification.created"> {
  constructor(redis: RedisClient, prefix: string, logger: Logger) {
    super(redis, prefix, logger, { stream: "notification", type: "notification.created", keyOf: (event) => event.payload.userId });
  }
}
