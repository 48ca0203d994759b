import type Redis from "ioredis";
import type { Logger } from "pino";
import { parseEvent, type EventOf } from "@commerce/schema";
import { streamKey } from "@commerce/streams";

export type StatusChange = EventOf<"order.status_changed">;
type Listener = (event: StatusChange) => void;

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
    if (event.type !== "order.status_changed") return;
    for (const listener of this.byOrder.get(event.payload.orderId) ?? []) listener(event);
    for (const listener of this.all) listener(event);
  }
}
