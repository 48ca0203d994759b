import calculateSlot from "cluster-key-slot";
import Redis, { Cluster, type ChainableCommander, type ClusterOptions, type RedisOptions } from "ioredis";

/** A connection to one Redis or to a Redis Cluster: the commands the platform uses exist on both. */
export type RedisClient = Redis | Cluster;

/** `redis+cluster://` plain, `rediss+cluster://` over TLS (a managed cluster with encryption in transit). */
const CLUSTER_URL = /^(rediss?)\+cluster:\/\//;

/**
 * The Redis URL of a deployment: `REDIS_CLUSTER_NODES` (comma-separated `host:port` seeds) wins and
 * becomes `redis+cluster://host:port,host:port` (`rediss+cluster://` with `REDIS_CLUSTER_TLS=true`);
 * else `REDIS_URL`; else the local default.
 */
export function redisUrlFromEnv(env: Record<string, string | undefined> = process.env, fallback = "redis://127.0.0.1:6379"): string {
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  const scheme = /^(1|true|yes)$/i.test(env.REDIS_CLUSTER_TLS?.trim() ?? "") ? "rediss" : "redis";
  if (nodes)
    return `${scheme}+cluster://${nodes
      .split(",")
      .map((node) => node.trim())
      .filter(Boolean)
      .join(",")}`;
  return env.REDIS_URL?.trim() || fallback;
}

export function isClusterUrl(url: string): boolean {
  return CLUSTER_URL.test(url);
}

/** The seed nodes of a `redis[s]+cluster://[user:pass@]host:port,host:port` URL, its credentials and whether it uses TLS. */
export function parseClusterUrl(url: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean } {
  const scheme = CLUSTER_URL.exec(url);
  if (!scheme) throw new Error(`not a redis+cluster:// URL: ${url}`);
  let rest = url.slice(scheme[0].length).replace(/\/.*$/, "");
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(":");
    username = colon >= 0 ? decodeURIComponent(auth.slice(0, colon)) || undefined : undefined;
    password = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth) || undefined;
  }
  const nodes = rest
    .split(",")
    .filter(Boolean)
    .map((node) => {
      const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node) ?? /^\[?([^\]]+?)\]?$/.exec(node);
      if (!match) throw new Error(`bad cluster node "${node}" in ${url}`);
      return { host: match[1]!, port: match[2] ? Number(match[2]) : 6379 };
    });
  if (nodes.length === 0) throw new Error(`no nodes in ${url}`);
  return { nodes, username, password, tls: scheme[1] === "rediss" };
}

/**
 * A client for `url`: `redis://…` gives one connection, `redis+cluster://…` a cluster client that follows
 * MOVED/ASK and fail-overs. `options` are per connection (timeouts, offline queue, retries) in both cases.
 */
export function createRedis(url: string, options: RedisOptions = {}, cluster: Omit<ClusterOptions, "redisOptions"> = {}): RedisClient {
  if (!isClusterUrl(url)) return new Redis(url, options);
  const { nodes, username, password, tls } = parseClusterUrl(url);
  return new Cluster(nodes, {
    // TLS: certificates name the configured host, so nodes are reached by the names the cluster announces.
    ...(tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
    // Fail-over: retry the command on the new master once the slots are re-read, instead of failing it.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    // A redirection ioredis does not follow (see followRedirection) is corrected by the next refresh at the latest.
    slotsRefreshInterval: 5000,
    lazyConnect: options.lazyConnect,
    enableOfflineQueue: options.enableOfflineQueue,
    enableReadyCheck: true,
    ...cluster,
    redisOptions: {
      ...options,
      username: username ?? options.username,
      password: password ?? options.password,
      ...(tls ? { tls: { ...options.tls } } : {}),
    },
  });
}

/** The nodes holding data: every master of a cluster, or the one server. Used for SCAN and per-node commands. */
export function dataNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}

/**
 * `{tag}` makes every key containing it live in one cluster slot (Redis hashes only the text between the first
 * braces). Keys that one command or script touches together share a tag; unrelated keys get different tags so
 * they spread over the masters.
 */
export function hashTag(tag: string): string {
  return `{${tag}}`;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The cluster slot of `key` (what `CLUSTER KEYSLOT` answers): keys sharing a hash tag share it. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/**
 * `items` split into the groups one pipeline or MULTI may carry: on a cluster one group per slot of
 * `keyOf(item)` (order kept within a group), on one Redis a single group.
 */
export function groupBySlot<T>(client: RedisClient, items: readonly T[], keyOf: (item: T) => string): T[][] {
  if (!isCluster(client)) return items.length > 0 ? [[...items]] : [];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = slotOf(keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups.values()];
}

/** Another client to the same Redis or cluster, with `options` overriding the connection options. */
export function duplicateRedis(client: RedisClient, options: RedisOptions = {}): RedisClient {
  if (!isCluster(client)) return client.duplicate(options);
  return client.duplicate([], {
    redisOptions: { ...client.options.redisOptions, ...options },
    ...(options.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: options.enableOfflineQueue }),
  });
}

/**
 * Replicas a write must reach before it counts as durable (`WAIT n`): 1 on a cluster, where an
 * acknowledged write a master loses before replicating would vanish in a fail-over; 0 on one Redis.
 */
export function defaultReplicaAcks(client: RedisClient): number {
  return isCluster(client) ? 1 : 0;
}

/**
 * After a pipeline failed with `MOVED`/`ASK`/`CLUSTERDOWN`: ioredis follows a redirection only when every
 * command of the pipeline got it, so a pipeline ending in a keyless `WAIT` (which answers) fails instead;
 * refreshing the slot map sends the caller's retry to the slot's new master.
 */
export function followRedirection(client: RedisClient, error: unknown): void {
  if (isCluster(client) && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(String((error as Error)?.message ?? ""))) client.refreshSlotsCache();
}

/** A write Redis accepted but fewer replicas than required acknowledged in time: treated as not written. */
export class NotReplicatedError extends Error {
  constructor(acked: number, wanted: number) {
    super(`write reached ${acked} of ${wanted} required replica(s) in time`);
    this.name = "NotReplicatedError";
  }
}

/** How a write is made durable: the replicas it must reach (`WAIT`) before it counts (0 skips WAIT), and how long WAIT waits. */
export interface Durability {
  replicaAcks: number;
  replicaAckTimeoutMs: number;
}

/**
 * Runs `pipeline` (writes of one slot) and, when `replicaAcks` > 0, a `WAIT` after them on the same node.
 * Any failed command fails the whole (after refreshing the slot map on a redirection); fewer replica
 * acknowledgements than asked is a {@link NotReplicatedError}. Returns the replies of the pipeline's own commands.
 */
export async function execDurably(
  redis: RedisClient,
  pipeline: ChainableCommander,
  { replicaAcks, replicaAckTimeoutMs }: Durability,
): Promise<unknown[]> {
  const commands = pipeline.length;
  if (replicaAcks > 0) pipeline.wait(replicaAcks, replicaAckTimeoutMs);
  const results = (await pipeline.exec()) ?? [];
  const failure = results.find(([error]) => error)?.[0];
  if (failure) followRedirection(redis, failure);
  if (failure || results.length !== commands + (replicaAcks > 0 ? 1 : 0)) throw failure ?? new Error("pipeline returned no results");
  if (replicaAcks > 0) {
    const acked = Number(results[commands]![1]);
    if (acked < replicaAcks) throw new NotReplicatedError(acked, replicaAcks);
  }
  return results.slice(0, commands).map(([, reply]) => reply);
}
