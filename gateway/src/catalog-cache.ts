import type { ApolloServerPlugin } from "@apollo/server";
import responseCachePlugin from "@apollo/server-plugin-response-cache";
import { catalogVersionKey, type Logger } from "@commerce/kit";
import { createRedis, type RedisClient } from "@commerce/streams";
import type { GatewayContext } from "./context";

/**
 * The catalog cache, shared by every gateway replica: Apollo's full response cache in Redis, for
 * anonymous queries only. An answer is stored when every subgraph fetch of its plan allowed it
 * (`Cache-Control: max-age=N, public`, from the `@cacheControl` hints of kit/src/catalog-cache.ts),
 * for N seconds, under a key that holds the catalog version read before the operation runs: a
 * commit that changes the catalog bumps the version before its mutation answers, so later reads miss
 * every entry filled before it. A signed-in caller neither reads nor fills an entry. While Redis
 * does not answer (within 500 ms), requests go without the cache.
 */
export function catalogCachePlugin(redisUrl: string, prefix: string, logger: Logger): ApolloServerPlugin<GatewayContext> & { disconnect(): void } {
  const redis = createRedis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
  redis.on("error", (error) => logger.debug({ err: error }, "catalog cache redis error"));
  const warn = throttled(logger);
  const versions = new WeakMap<GatewayContext, string>();
  const anonymous = (context: GatewayContext) => context.identity === null;
  const plugin = responseCachePlugin<GatewayContext>({
    cache: new RedisKeyValueCache(redis, `${prefix}:catalog:`, warn),
    extraCacheKeyData: async ({ contextValue }) => {
      if (!anonymous(contextValue)) return null;
      try {
        const version = (await redis.get(catalogVersionKey(prefix))) ?? "0";
        versions.set(contextValue, version);
        return version;
      } catch (error) {
        warn(error, "catalog version unreadable; answering without the cache");
        return null;
      }
    },
    shouldReadFromCache: async ({ contextValue }) => anonymous(contextValue) && versions.has(contextValue),
    // Identity again: an operation that signed its caller in is no anonymous answer.
    shouldWriteToCache: async ({ contextValue }) => anonymous(contextValue) && versions.has(contextValue),
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
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.prefix + key)) ?? undefined;
    } catch (error) {
      this.warn(error, "catalog cache unreadable; answering without it");
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttl = Math.ceil(options?.ttl ?? 0);
    if (ttl <= 0) return;
    await this.redis.set(this.prefix + key, value, "EX", ttl);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
