import { maybeCacheControlFromInfo } from "@apollo/cache-control-types";
import type { RedisClient } from "@commerce/streams";
import type { EntityClass, EventSubscriber, FlushEventArgs, TransactionEventArgs } from "@mikro-orm/core";
import type { GraphQLResolveInfo } from "graphql";
import type { Logger } from "./logger";

/**
 * The shared catalog cache: the gateway keeps anonymous answers of public catalog queries in Redis
 * (gateway/src/catalog-cache.ts), keyed by the catalog version below. A commit that changes what those
 * answers show other than stock (products, prices, names, categories, visibility) bumps the version
 * before its caller hears of it, so no answer read after it comes from an entry filled before it.
 * Stock moves with every order and bumps nothing: answers that show it live {@link STOCK_MAX_AGE_SECONDS}.
 */
export const catalogVersionKey = (prefix: string) => `${prefix}:catalog:version`;

/** Seconds an entry lives at most (a lost bump is outlived by at most this). */
export const CATALOG_MAX_AGE_SECONDS = 30;

/** Seconds an answer showing stock (`available`, an `inStock` filter) lives at most: stock changes bump no version. */
export const STOCK_MAX_AGE_SECONDS = 1;

/** How long a commit waits for its bump before going on without it. */
export const BUMP_WAIT_MS = 500;

/** On a public catalog root field: its answer may be shared by every anonymous caller. */
export const CATALOG_CACHE_HINT = `@cacheControl(maxAge: ${CATALOG_MAX_AGE_SECONDS})`;

/** On a field derived from stock: an answer showing it is shared for {@link STOCK_MAX_AGE_SECONDS} at most. */
export const STOCK_CACHE_HINT = `@cacheControl(maxAge: ${STOCK_MAX_AGE_SECONDS})`;

/** On an object type: cacheable as long as the field returning it is (connections, Money, catalog types). */
export const INHERIT_CACHE_HINT = "@cacheControl(inheritMaxAge: true)";

/** For a resolver whose answer depends on stock only for some arguments (a filter on availability). */
export function dependsOnStock(info: GraphQLResolveInfo): void {
  maybeCacheControlFromInfo(info)?.cacheHint.restrict({ maxAge: STOCK_MAX_AGE_SECONDS });
}

/**
 * An ORM subscriber that bumps the catalog version after each commit that changed an entity of
 * `catalogEntities` (one bump per transaction, however many handlers and flushes shared it). Writes
 * by raw SQL are not seen: catalog rows change through entities, in a top-level transaction. Awaited
 * by the committing code, so a mutation answers only once the bump is in Redis, for up to
 * {@link BUMP_WAIT_MS}: past that (Redis away) the commit goes on and the bump stays queued on `redis`
 * until Redis is back, while the gateway, unable to read the version, skips the cache.
 */
export function bumpCatalogVersionOnCommit(
  redis: RedisClient,
  prefix: string,
  logger: Logger,
  catalogEntities: readonly EntityClass<object>[],
): EventSubscriber {
  const catalog = new Set<string>(catalogEntities.map((entity) => entity.name));
  // Transactions (or, for a flush outside one, its unit of work) that changed the catalog and await their commit.
  const changed = new WeakSet<object>();
  const settle = ({ transaction, uow }: TransactionEventArgs): boolean => {
    const key = [transaction, uow].find((candidate): candidate is object => !!candidate && changed.has(candidate));
    if (key) changed.delete(key);
    return key !== undefined;
  };
  return {
    onFlush: ({ em, uow }: FlushEventArgs) => {
      if (!uow.getChangeSets().some((changeSet) => catalog.has(changeSet.meta.className))) return;
      const transaction = em.getTransactionContext() as object | undefined;
      // A savepoint's release runs no commit hooks, and its root transaction cannot be told from it.
      if (transaction && "savepointName" in transaction)
        throw new Error("catalog entities must change in a transaction of their own, not a nested one");
      changed.add(transaction ?? uow);
    },
    afterTransactionRollback: (args: TransactionEventArgs) => void settle(args),
    afterTransactionCommit: async (args: TransactionEventArgs) => {
      if (!settle(args)) return;
      const bump = redis.incr(catalogVersionKey(prefix)).catch((error: unknown) => {
        logger.error({ err: error }, "catalog version not bumped; cached catalog answers may be stale until they expire");
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([bump, new Promise<void>((resolve) => (timer = setTimeout(resolve, BUMP_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}

/**
 * Catalog revisions: per product, the epoch ms of its latest `product.upserted` (the event's
 * `occurredAt`), raised (never lowered) before the change commits. A replica that has applied that
 * event (`updated_at >= revision`) holds the product's current catalog state, so a reader may skip
 * asking the product subgraph; a change rolled back after raising it only sends readers to the
 * subgraph, the safe side.
 */
export const catalogRevisionsKey = (prefix: string) => `${prefix}:catalog:revisions`;

/** Raises `productId`'s revision to `revisionMs`; throws when Redis has not confirmed within `timeoutMs` (the change must not commit then). */
export async function raiseCatalogRevision(
  redis: RedisClient,
  prefix: string,
  productId: string,
  revisionMs: number,
  timeoutMs = BUMP_WAIT_MS,
): Promise<void> {
  await withTimeout(redis.zadd(catalogRevisionsKey(prefix), "GT", revisionMs, productId), timeoutMs, "recording the catalog revision");
}

/** The revision of each of `productIds` (null where none is known), or null when Redis does not answer within `timeoutMs`. */
export async function catalogRevisions(
  redis: RedisClient,
  prefix: string,
  productIds: readonly string[],
  timeoutMs = 250,
): Promise<(number | null)[] | null> {
  try {
    const scores = (await withTimeout(redis.call("ZMSCORE", catalogRevisionsKey(prefix), ...productIds), timeoutMs, "reading catalog revisions")) as (
      string | null
    )[];
    return scores.map((score) => (score === null ? null : Number(score)));
  } catch {
    return null;
  }
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
