/**
 * Typed, validated configuration, parsed once at start-up.
 *
 * Every process calls {@link loadConfig} (or one of the readers) in its `main.ts`
 * and passes the result down; nothing else in the code reads `process.env`.
 * A missing or malformed variable stops the process with a message naming it.
 */

import { isClusterUrl, parseClusterUrl, redisUrlFromEnv } from "@commerce/streams";
import { DEFAULT_PORTS, SUBGRAPHS, type SubgraphName } from "./services";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Readers over one environment object; each names the variable when it fails. */
export function envReader(env: Env = process.env) {
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    string(name: string, fallback?: string): string {
      const value = raw(name) ?? fallback;
      if (value === undefined) throw new ConfigError(name, "is required but not set");
      return value;
    },
    optionalString(name: string): string | undefined {
      return raw(name);
    },
    int(name: string, fallback?: number, { min = -Infinity, max = Infinity } = {}): number {
      const value = raw(name);
      if (value === undefined) {
        if (fallback === undefined) throw new ConfigError(name, "is required but not set");
        return fallback;
      }
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        throw new ConfigError(name, `must be an integer between ${min} and ${max}, got "${value}"`);
      }
      return parsed;
    },
    bool(name: string, fallback: boolean): boolean {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (["1", "true", "yes", "on"].includes(value.toLowerCase())) return true;
      if (["0", "false", "no", "off"].includes(value.toLowerCase())) return false;
      throw new ConfigError(name, `must be a boolean (true/false), got "${value}"`);
    },
    url(name: string, fallback?: string): string {
      const value = raw(name) ?? fallback;
      if (value === undefined) throw new ConfigError(name, "is required but not set");
      try {
        new URL(value);
      } catch {
        throw new ConfigError(name, `must be a URL, got "${value}"`);
      }
      return value;
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = (raw(name) ?? fallback) as T;
      if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${value}"`);
      return value;
    },
  };
}

export type EnvReader = ReturnType<typeof envReader>;

export type NodeEnv = "development" | "test" | "production";

/** A signing key for access tokens; the first key of `JWT_KEYS` signs, all verify. */
export interface JwtKey {
  kid: string;
  secret: string;
}

/** What every process needs, whatever its role. */
export interface BaseConfig {
  nodeEnv: NodeEnv;
  logLevel: string;
  logPretty: boolean;
  redisUrl: string;
  streamPrefix: string;
  internalSecret: string;
  jwt: { keys: JwtKey[]; issuer: string; audience: string; accessTokenTtlSeconds: number };
  /** GraphQL endpoints of the subgraphs, by service name (`SUBGRAPH_<NAME>_URL`, else the default port on 127.0.0.1). */
  subgraphUrls: Record<SubgraphName, string>;
  /** The `SUBGRAPH_<NAME>_URL`s actually set: only these override the URLs a supergraph names. */
  subgraphUrlOverrides: Partial<Record<SubgraphName, string>>;
  /** Bearer token `/metrics` asks for (`METRICS_TOKEN`); unset: only callers on this machine may scrape. */
  metricsToken?: string;
  /** Address the HTTP server listens on (`HOST`): 127.0.0.1 unless set (containers set 0.0.0.0). */
  host: string;
  /** OTLP/HTTP collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); traces are exported only when set. */
  otlpEndpoint?: string;
  /** The currency wallets hold (`WALLET_CURRENCY`): the only one an order can be paid in, so the only one products are sold in. */
  walletCurrency: string;
}

const DEV_SECRET = "development-only-internal-secret-change-me";
const DEV_JWT_KEYS = "dev:development-only-jwt-secret-change-me";

export function parseJwtKeys(variable: string, value: string): JwtKey[] {
  const keys = value.split(",").map((part) => {
    const index = part.indexOf(":");
    if (index <= 0 || index === part.length - 1) {
      throw new ConfigError(variable, 'must be a comma-separated list of "kid:secret"');
    }
    return { kid: part.slice(0, index).trim(), secret: part.slice(index + 1).trim() };
  });
  if (keys.some((key) => key.secret.length < 16)) throw new ConfigError(variable, "secrets must be at least 16 characters");
  return keys;
}

/** `REDIS_CLUSTER_NODES` (seeds `host:port,…`, a cluster) else `REDIS_URL` (`redis://…` or `redis+cluster://…`). */
export function readRedisUrl(env: Env): string {
  const url = redisUrlFromEnv(env);
  const variable = env.REDIS_CLUSTER_NODES?.trim() ? "REDIS_CLUSTER_NODES" : "REDIS_URL";
  try {
    if (isClusterUrl(url)) parseClusterUrl(url);
    else new URL(url);
  } catch (error) {
    throw new ConfigError(variable, `must be a Redis URL or cluster seeds, got "${env[variable]}" (${(error as Error).message})`);
  }
  return url;
}

/** `WALLET_CURRENCY` (default USD): a 3-letter ISO 4217 code. */
export function readWalletCurrency(read: EnvReader): string {
  const currency = read.string("WALLET_CURRENCY", "USD");
  if (!/^[A-Z]{3}$/.test(currency)) throw new ConfigError("WALLET_CURRENCY", `must be a 3-letter ISO code, got "${currency}"`);
  return currency;
}

export function loadBaseConfig(env: Env = process.env): BaseConfig {
  const read = envReader(env);
  const nodeEnv = read.oneOf<NodeEnv>("NODE_ENV", ["development", "test", "production"], "development");
  const isProduction = nodeEnv === "production";
  // Development defaults keep `npm start` to one command; production must set real secrets.
  const internalSecret = isProduction ? read.string("INTERNAL_SECRET") : read.string("INTERNAL_SECRET", DEV_SECRET);
  if (internalSecret.length < 16) throw new ConfigError("INTERNAL_SECRET", "must be at least 16 characters");
  const jwtKeys = isProduction ? read.string("JWT_KEYS") : read.string("JWT_KEYS", DEV_JWT_KEYS);
  const subgraphUrls = Object.fromEntries(
    SUBGRAPHS.map((name) => [name, read.url(`SUBGRAPH_${name.toUpperCase()}_URL`, `http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql`)]),
  ) as Record<SubgraphName, string>;
  const subgraphUrlOverrides = Object.fromEntries(
    SUBGRAPHS.filter((name) => read.optionalString(`SUBGRAPH_${name.toUpperCase()}_URL`) !== undefined).map((name) => [name, subgraphUrls[name]]),
  ) as Partial<Record<SubgraphName, string>>;
  return {
    nodeEnv,
    host: read.string("HOST", "127.0.0.1"),
    metricsToken: read.optionalString("METRICS_TOKEN"),
    logLevel: read.oneOf("LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"], nodeEnv === "test" ? "warn" : "info"),
    logPretty: read.bool("LOG_PRETTY", false),
    redisUrl: readRedisUrl(env),
    streamPrefix: read.string("STREAM_PREFIX", "commerce"),
    internalSecret,
    jwt: {
      keys: parseJwtKeys("JWT_KEYS", jwtKeys),
      issuer: read.string("JWT_ISSUER", "commerce-platform"),
      audience: read.string("JWT_AUDIENCE", "commerce-api"),
      accessTokenTtlSeconds: read.int("ACCESS_TOKEN_TTL", 900, { min: 10, max: 86400 }),
    },
    subgraphUrls,
    subgraphUrlOverrides,
    otlpEndpoint: read.optionalString("OTEL_EXPORTER_OTLP_ENDPOINT") === undefined ? undefined : read.url("OTEL_EXPORTER_OTLP_ENDPOINT"),
    walletCurrency: readWalletCurrency(read),
  };
}

/** Configuration of one subgraph process: the base plus its port and database. */
export interface SubgraphConfig extends BaseConfig {
  service: SubgraphName;
  port: number;
  databaseUrl: string;
  /**
   * The stream consumer: entries in flight (`STREAM_CONCURRENCY`) and events per shared transaction (`STREAM_MAX_BATCH`, 1 = group commit off);
   * replicas a published event or dead letter must reach before it counts (`REDIS_REPLICA_ACKS`; unset: 1 on a cluster, 0 on one server).
   */
  streams: { concurrency: number; maxBatch: number; replicaAcks?: number };
}

export function loadSubgraphConfig(service: SubgraphName, env: Env = process.env): SubgraphConfig {
  const read = envReader(env);
  return {
    ...loadBaseConfig(env),
    service,
    port: read.int("PORT", DEFAULT_PORTS[service], { min: 0, max: 65535 }),
    databaseUrl: read.url("DATABASE_URL"),
    streams: {
      concurrency: read.int("STREAM_CONCURRENCY", 32, { min: 1, max: 1000 }),
      maxBatch: read.int("STREAM_MAX_BATCH", 32, { min: 1, max: 500 }),
      replicaAcks: read.optionalString("REDIS_REPLICA_ACKS") === undefined ? undefined : read.int("REDIS_REPLICA_ACKS", 0, { min: 0, max: 5 }),
    },
  };
}
