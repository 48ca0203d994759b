import type { ApolloServerPlugin } from "@apollo/server";
import responseCachePlugin from "@apollo/server-plugin-response-cache";
import { catalogVersionKey, type Logger } from "@commerce/kit";
import { createRedis, type RedisClient } from "@commerce/streams";
import type { GatewayContext } from "./context";

/**
 * The catalog cache, shared by every gateway replica: Apollo's full response cache in Redis, for
 * anonymous queries only. An answer is stored when every subgraph fetch of its plan allowed it
 * (`Cache-Control: max-age=N, public`, from the `@cacheControl` hints of kit/src/catalog-cache.ts: N
 * is 1 s when it shows stock, 30 s otherwise), for N seconds counted from the start of the request
 * that read it, under a key that holds the catalog version read at that start: a commit that changes
 * the catalog (not stock) bumps the version before its mutation answers, so later reads miss every
 * entry filled before it. A signed-in caller neither reads nor fills an entry. While Redis does not
 * answer (within 500 ms), requests go without the cache. `onLookup` counts hits and misses.
 */
export function catalogCachePlugin(
  redisUrl: string,
  prefix: string,
  logger: Logger,
  onLookup: (result: "hit" | "miss") => void = () => undefined,
): ApolloServerPlugin<GatewayContext> & { disconnect(): void } {
  const redis = createRedis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
  redis.on("error", (error) => logger.debug({ err: error }, "catalog cache redis error"));
  const warn = throttled(logger);
  // Per anonymous request: when it read the catalog version (its answer is no newer than that).
  const started = new WeakMap<GatewayContext, number>();
  const anonymous = (context: GatewayContext) => context.identity === null;
  const plugin = responseCachePlugin<GatewayContext>({
    cache: new RedisKeyValueCache(redis, `${prefix}:catalog:`, warn, onLookup),
    extraCacheKeyData: async ({ contextValue }) => {
      if (!anonymous(contextValue)) return null;
      try {
        const at = Date.now();
        const version = (await redis.get(catalogVersionKey(prefix))) ?? "0";
        started.set(contextValue, at);
        return version;
      } catch (error) {
        warn(error, "catalog version unreadable; answering without the cache");
        return null;
      }
    },
    shouldReadFromCache: async ({ contextValue }) => anonymous(contextValue) && started.has(contextValue),
    // Identity again: an operation that signed its caller in is no anonymous answer.
    shouldWriteToCache: async ({ contextValue, overallCachePolicy }) => {
      const at = started.get(contextValue);
      if (!anonymous(contextValue) || at === undefined || !overallCachePolicy.maxAge) return false;
      // The entry's life counts from the request's start, not from the end of its subgraph reads.
      const maxAge = overallCachePolicy.maxAge - (Date.now() - at) / 1000;
      if (maxAge <= 0) return false;
      overallCachePolicy.replace({ maxAge });
      return true;
    },
  });
  return Object.assign(plugin, { disconnect: () => redis.disconnect() });
}

/** Logs a warning at most every 10 s (Redis down means every request fails the same way). */
function throttled(logger: Logger): (error: unknown, message: string) => void {
  let last = 0;
  return (error, message) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    logger.warn({ err: error }, message);
  };
}

/** Apollo's KeyValueCache interface on ioredis: an unreadable entry is a miss, an unwritable one is dropped. */
class RedisKeyValueCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly warn: (error: unknown, message: string) => void,
    private readonly onLookup: (result: "hit" | "miss") => void,
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      const value = (await this.redis.get(this.prefix + key)) ?? undefined;
      this.onLookup(value === undefined ? "miss" : "hit");
      return value;
    } catch (error) {
      this.warn(error, "catalog cache unreadable; answering without it");
      return undefined;
    }
  }

  /** `ttl` in seconds, fractions kept (milliseconds in Redis). */
  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttlMs = Math.floor((options?.ttl ?? 0) * 1000);
    if (ttlMs <= 0) return;
    await this.redis.set(this.prefix + key, value, "PX", ttlMs);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
