import type { RedisClient } from "@commerce/streams";
import type { EventSubscriber, TransactionEventArgs } from "@mikro-orm/core";
import type { Logger } from "./logger";

/**
 * The shared catalog cache: the gateway keeps anonymous answers of public catalog queries in Redis
 * (gateway/src/catalog-cache.ts), keyed by the catalog version below; a service whose commits change
 * what those answers show bumps the version after each commit, before its caller hears of it, so no
 * answer read after a commit comes from an entry filled before it.
 */
export const catalogVersionKey = (prefix: string) => `${prefix}:catalog:version`;

/** Seconds an entry lives at most (a lost bump is outlived by at most this). */
export const CATALOG_MAX_AGE_SECONDS = 30;

/** How long a commit waits for its bump before going on without it. */
export const BUMP_WAIT_MS = 500;

/** On a public catalog root field: its answer may be shared by every anonymous caller. */
export const CATALOG_CACHE_HINT = `@cacheControl(maxAge: ${CATALOG_MAX_AGE_SECONDS})`;

/** On an object type: cacheable as long as the field returning it is (connections, Money, catalog types). */
export const INHERIT_CACHE_HINT = "@cacheControl(inheritMaxAge: true)";

/**
 * An ORM subscriber that bumps the catalog version after every commit (one bump per transaction, however
 * many handlers shared it). Awaited by the committing code, so a mutation answers only once the bump is
 * in Redis, for up to {@link BUMP_WAIT_MS}: past that (Redis away) the commit goes on and the bump stays
 * queued on `redis` until Redis is back, while the gateway, unable to read the version, skips the cache.
 */
export function bumpCatalogVersionOnCommit(redis: RedisClient, prefix: string, logger: Logger): EventSubscriber {
  const bumped = new WeakSet<object>();
  return {
    afterTransactionCommit: async ({ transaction }: TransactionEventArgs) => {
      if (transaction && typeof transaction === "object") {
        if (bumped.has(transaction)) return;
        bumped.add(transaction);
      }
      const bump = redis.incr(catalogVersionKey(prefix)).catch((error: unknown) => {
        logger.error({ err: error }, "catalog version not bumped; cached catalog answers may be stale until they expire");
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([bump, new Promise<void>((resolve) => (timer = setTimeout(resolve, BUMP_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}
