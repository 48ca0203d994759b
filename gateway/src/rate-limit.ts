import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { createHash } from "node:crypto";
import { Kind, valueFromASTUntyped, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { RateLimitedError, type Identity, type Logger } from "@commerce/kit";
import { createRedis, type RedisClient } from "@commerce/streams";
import type { RateLimitConfig } from "./config";
import type { GatewayContext } from "./context";

/**
 * Sliding-window counter (the current window's count plus the previous
 * window's, weighted by how much of it still overlaps the last minute), so a
 * client cannot burst twice the limit across a window boundary. Check and
 * increment are one script, so concurrent requests on several gateway
 * replicas cannot both take the last slot. A refused request is not counted:
 * a client that waits `retryAfter` is served.
 */
const SLIDING_WINDOW = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local weight = tonumber(ARGV[4])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (window - elapsed) / window + current + weight > limit then
  return {0, current, previous}
end
redis.call('INCRBY', KEYS[1], weight)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {1, current + weight, previous}
`;

/** Gives back units taken from a window that still exists (never recreates an expired one). */
const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0
`;

type RedisWithScript = RedisClient & {
  refundWindow(key: string, weight: number): Promise<number>;
  slidingWindow(
    current: string,
    previous: string,
    limit: number,
    windowMs: number,
    elapsedMs: number,
    weight: number,
  ): Promise<[number, number, number]>;
};

/** One counter: e.g. `ip` + `203.0.113.7`, allowing `limit` units per window. */
export interface Bucket {
  /** auth: failed sign-ins per address; account: per account; account_ip: per account and address. */
  kind: "ip" | "user" | "auth" | "account" | "account_ip";
  id: string;
  limit: number;
  /** Units this request takes (an operation with three aliased `login` fields takes three). */
  weight?: number;
  /** This bucket's window, when not the limiter's. */
  windowMs?: number;
}

/** Per-bucket request counters in Redis, shared by every gateway replica. */
export class RateLimiter {
  /**
   * A limiter on its own Redis connection, failing fast (no offline queue,
   * short timeout): a slow or absent Redis must not hold requests, only
   * switch the limiter off. Start-up does not wait for Redis either.
   */
  static async connect(redisUrl: string, prefix: string, windowMs: number, logger: Logger, onError?: () => void): Promise<RateLimiter> {
    const redis = createRedis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
    // Failed checks are logged by take(); connection churn would only repeat them.
    redis.on("error", (error) => logger.debug({ err: error }, "rate limiter redis error"));
    await redis
      .connect()
      .catch((error) => logger.error({ err: error }, "rate limiter cannot reach Redis at start-up: requests are not limited until it does"));
    return new RateLimiter(redis, prefix, windowMs, logger, onError);
  }

  private readonly redis: RedisWithScript;
  private lastFailureLog = 0;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly windowMs: number,
    private readonly logger: Logger,
    private readonly onError: () => void = () => {},
  ) {
    redis.defineCommand("slidingWindow", { numberOfKeys: 2, lua: SLIDING_WINDOW });
    redis.defineCommand("refundWindow", { numberOfKeys: 1, lua: REFUND });
    this.redis = redis as RedisWithScript;
  }

  /**
   * Takes one unit (or `weight`) from every bucket; returns null when all allowed it, else the seconds
   * until the most constrained one allows it again, and which bucket that is. Fails open when Redis
   * cannot answer, logged and counted (docs/GATEWAY.md, "Rate limits fail open").
   */
  async take(buckets: Bucket[], now = Date.now()): Promise<{ retryAfter: number; bucket: Bucket["kind"] } | null> {
    try {
      const results = await Promise.all(
        buckets.map(async (bucket) => {
          const window = bucket.windowMs ?? this.windowMs;
          const index = Math.floor(now / window);
          const elapsed = now - index * window;
          const weight = bucket.weight ?? 1;
          const [allowed, current, previous] = await this.redis.slidingWindow(
            this.key(bucket, index),
            this.key(bucket, index - 1),
            bucket.limit,
            window,
            elapsed,
            weight,
          );
          return allowed ? null : { bucket: bucket.kind, waitMs: retryAfterMs(window, bucket.limit, weight, current, previous, elapsed) };
        }),
      );
      const refusals = results.filter((refusal) => refusal !== null);
      if (!refusals.length) return null;
      // A refused request counts nowhere: failures on a throttled (account, address) must not go on
      // filling the account's own bucket and lock it out from every address.
      await Promise.all(buckets.filter((_, i) => results[i] === null).map((bucket) => this.refund(bucket, now)));
      const longest = refusals.reduce((a, b) => (b.waitMs > a.waitMs ? b : a));
      return { retryAfter: Math.max(1, Math.ceil(longest.waitMs / 1000)), bucket: longest.bucket };
    } catch (error) {
      this.onError();
      if (now - this.lastFailureLog > 10_000) {
        this.lastFailureLog = now;
        this.logger.error({ err: error }, "rate limiter cannot reach Redis: allowing requests unlimited until it recovers");
      }
      return null;
    }
  }

  /** Gives back what `take(…, takenAt)` took from `bucket`; best effort (a failure only leaves the limit stricter). */
  async refund(bucket: Bucket, takenAt: number): Promise<void> {
    await this.redis.refundWindow(this.key(bucket, Math.floor(takenAt / (bucket.windowMs ?? this.windowMs))), bucket.weight ?? 1).catch((error) => {
      this.logger.debug({ err: error }, "rate limiter refund failed");
    });
  }

  /** The hash tag keeps all windows of one bucket in one Redis Cluster slot. */
  private key(bucket: Bucket, index: number): string {
    return `${this.prefix}:ratelimit:{${bucket.kind}:${bucket.id}}:${index}`;
  }

  disconnect(): void {
    this.redis.disconnect();
  }
}

/** When the weighted count of a window of `window` ms will have decayed enough for `weight` more units. */
function retryAfterMs(window: number, limit: number, weight: number, current: number, previous: number, elapsed: number): number {
  const room = limit - weight - current;
  if (room >= 0 && previous > 0) return Math.max(0, window - elapsed - (window * room) / previous);
  // The current window alone is full: wait for it to become the previous one and decay.
  if (weight > limit || current === 0) return 2 * window - elapsed;
  return window - elapsed + Math.max(0, window * (1 - (limit - weight) / current));
}

/** The root fields an operation selects, through fragments, with repetition. */
export function rootFields(operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): FieldNode[] {
  const fields: FieldNode[] = [];
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value) && fragments[selection.name.value]) {
        visit(fragments[selection.name.value].selectionSet, new Set([...seen, selection.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return fields;
}

type Arguments = Record<string, unknown>;

/**
 * The mutations that try a credential (the brute-force targets), each with the account it tries
 * when one can be named: an e-mail as `login` stores it, or null (a refresh or reset token names none).
 */
const CREDENTIAL_FIELDS: Record<string, (args: Arguments, identity: Identity | null) => string | null> = {
  login: (args) => accountName(args.email),
  register: (args) => accountName((args.input as Arguments | null | undefined)?.email),
  refreshToken: () => null,
  resetPassword: () => null,
  changePassword: (_args, identity) => (identity?.kind === "user" ? (accountName(identity.email) ?? `id:${identity.userId}`) : null),
};

/** A BAD_USER_INPUT naming one of these is a wrong guess, not a malformed request. */
const GUESSED_ARGUMENTS = new Set(["currentPassword", "token"]);

function accountName(email: unknown): string | null {
  return typeof email === "string" && email.trim() ? email.trim().toLowerCase() : null;
}

/** The sign-in attempts of an operation: one entry per credential field, naming its account or null. */
export function signInAttempts(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Arguments,
  identity: Identity | null,
): (string | null)[] {
  return rootFields(operation, fragments)
    .filter((field) => field.name.value in CREDENTIAL_FIELDS)
    .map((field) => {
      const args: Arguments = {};
      for (const argument of field.arguments ?? []) args[argument.name.value] = valueFromASTUntyped(argument.value, variables);
      return CREDENTIAL_FIELDS[field.name.value](args, identity);
    });
}

/**
 * The failed-sign-in buckets of an operation's attempts: its address's (generous: an office or a
 * mobile carrier shares one), and for each account it names, the account's and the (account, address)
 * pair's (strict). So guessing at one account throttles that account, never another one's correct
 * sign-in from the same address. Accounts are hashed: e-mails stay out of Redis.
 */
export function signInBuckets(config: RateLimitConfig, ip: string, attempts: (string | null)[]): Bucket[] {
  if (!attempts.length) return [];
  const buckets: Bucket[] = [{ kind: "auth", id: ip, limit: config.authPerIp, weight: attempts.length }];
  const perAccount = new Map<string, number>();
  for (const account of attempts) if (account) perAccount.set(account, (perAccount.get(account) ?? 0) + 1);
  for (const [account, weight] of perAccount) {
    const id = createHash("sha256").update(account).digest("base64url").slice(0, 22);
    const windowMs = config.authAccountWindowMs;
    buckets.push({ kind: "account", id, limit: config.authPerAccount, weight, windowMs });
    buckets.push({ kind: "account_ip", id: `${id}:${ip}`, limit: config.authPerAccountIp, weight, windowMs });
  }
  return buckets;
}

/**
 * What every operation takes one unit from, over HTTP or as a WebSocket `subscribe`: its client
 * address's bucket and, when signed in, its user's.
 */
export function operationBuckets(config: RateLimitConfig, ip: string, identity: Identity | null): Bucket[] {
  const buckets: Bucket[] = [{ kind: "ip", id: ip, limit: config.perIp }];
  if (identity?.kind === "user") buckets.push({ kind: "user", id: identity.userId, limit: config.perUser });
  return buckets;
}

/**
 * Counts every HTTP operation against its client IP and user; credential mutations also take from the
 * failed sign-in budgets, given back on success. A refusal is RATE_LIMITED, HTTP 429 with `Retry-After`,
 * before any subgraph is called (docs/GATEWAY.md, "What rate limits count").
 */
export function rateLimitPlugin(
  limiter: RateLimiter,
  config: RateLimitConfig,
  onRefused: (bucket: string) => void,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let authAttempt: { buckets: Bucket[]; at: number } | null = null;
      return {
        async willSendResponse({ response }) {
          if (!authAttempt || response.body.kind !== "single") return;
          // Succeeded, or refused only for its input (a malformed email, a short password): no guess was
          // made. A wrong password, a stale token or a taken email (UNAUTHENTICATED, CONFLICT) counts, and
          // so does a wrong current password or reset token (BAD_USER_INPUT naming what was guessed).
          const errors = response.body.singleResult.errors ?? [];
          const guessed = (field: unknown) => typeof field === "string" && GUESSED_ARGUMENTS.has(field);
          if (errors.every((error) => error.extensions?.code === "BAD_USER_INPUT" && !guessed(error.extensions?.field))) {
            const { buckets, at } = authAttempt;
            await Promise.all(buckets.map((bucket) => limiter.refund(bucket, at)));
          }
        },
        async didResolveOperation({ request, operation, document, contextValue }) {
          if (!request.http || !operation) return;
          const buckets = operationBuckets(config, contextValue.ip, contextValue.identity);
          let auth: Bucket[] = [];
          if (operation.operation === "mutation") {
            const fragments: Record<string, FragmentDefinitionNode> = {};
            for (const definition of document.definitions) {
              if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
            }
            auth = signInBuckets(config, contextValue.ip, signInAttempts(operation, fragments, request.variables ?? {}, contextValue.identity));
          }
          const at = Date.now();
          const refused = await limiter.take([...buckets, ...auth], at);
          if (!refused) {
            if (auth.length) authAttempt = { buckets: auth, at };
            return;
          }
          onRefused(refused.bucket);
          const error = new RateLimitedError(refused.retryAfter);
          error.extensions.http = { status: 429, headers: new HeaderMap([["retry-after", String(refused.retryAfter)]]) };
          throw error;
        },
      };
    },
  };
}
