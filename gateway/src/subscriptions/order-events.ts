import type Redis from "ioredis";
import type { Logger } from "pino";
import { parseEvent, type EventOf } from "@commerce/schema";
import { streamKey } from "@commerce/streams";

export type StatusChange = EventOf<"order.status_changed">;
type Listener = (event: StatusChange) => void;

const RECENT_IDS = 10_000;

/**
 * Reads the order stream and fans `order.status_changed` out to this gateway's
 * subscribers. Every gateway replica reads the whole stream with plain XREAD
 * (not a consumer group): each replica must see every change, since any of them
 * may hold the subscriber's socket. One Redis connection per gateway, whatever
 * the number of subscribers.
 */
export class OrderEventFeed {
  private readonly byOrder = new Map<string, Set<Listener>>();
  private readonly all = new Set<Listener>();
  private running = false;
  private loop: Promise<void> | null = null;
  private lastId = "$";
  /** Ids of recently dispatched events: the relay delivers at least once, subscribers see each change once. */
  private readonly recent = new Set<string>();
  private readonly ring = new Array<string | undefined>(RECENT_IDS);
  private ringAt = 0;
  private dispatched = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** Starts reading from "now": the first event a new subscriber gets is the order's current state, fetched directly. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Pin the starting point so events written between start() and the first XREAD are not skipped.
    const last = (await this.redis.xrevrange(streamKey(this.prefix, "order"), "+", "-", "COUNT", 1)) as [string, string[]][];
    this.lastId = last[0]?.[0] ?? "0-0";
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }

  /** Listens for one order's changes; returns the function that stops listening. */
  onOrder(orderId: string, listener: Listener): () => void {
    let listeners = this.byOrder.get(orderId);
    if (!listeners) this.byOrder.set(orderId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (!listeners.size) this.byOrder.delete(orderId);
    };
  }

  /** Listens for every order's changes (filtering is the listener's job). */
  onAny(listener: Listener): () => void {
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
    for (const set of this.byOrder.values()) count += set.size;
    return count;
  }

  private async run(): Promise<void> {
    const key = streamKey(this.prefix, "order");
    let backoff = 100;
    while (this.running) {
      try {
        const response = (await this.redis.xread("COUNT", 500, "BLOCK", 1000, "STREAMS", key, this.lastId)) as
          | [string, [string, string[]][]][]
          | null;
        backoff = 100;
        for (const [, entries] of response ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            this.dispatch(fields);
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.logger.warn({ err: error }, "order event feed: redis read failed, retrying");
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 5000);
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
    if (field("type") !== "order.status_changed") return;
    const raw = field("envelope");
    if (!raw) return;
    let event;
    try {
      event = parseEvent(JSON.parse(raw));
    } catch (error) {
      // Malformed events are the consumers' dead-letter business; the feed just skips them.
      this.logger.debug({ err: error }, "order event feed: skipping malformed entry");
      return;
    }
    if (event.type !== "order.status_changed" || this.seen(event.id)) return;
    this.dispatched += 1;
    for (const listener of this.byOrder.get(event.payload.orderId) ?? []) this.notify(listener, event);
    for (const listener of this.all) this.notify(listener, event);
  }

  /** One subscriber's failure must not cost the others the rest of the batch. */
  private notify(listener: Listener, event: StatusChange): void {
    try {
      listener(event);
    } catch (error) {
      this.logger.error({ err: error, eventId: event.id }, "order event feed: a listener failed");
    }
  }
}
