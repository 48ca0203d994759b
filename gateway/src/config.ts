import { availableParallelism } from "node:os";
import { join } from "node:path";
import { envReader, loadBaseConfig, DEFAULT_PORTS, type BaseConfig } from "@commerce/kit";

export interface GatewayConfig extends BaseConfig {
  port: number;
  supergraphPath: string;
  /** Opt-in: compose from the live subgraphs and poll them, instead of the prebuilt supergraph file. */
  pollIntervalMs: number | null;
  corsOrigins: string[];
  introspection: boolean;
  sandbox: boolean;
  maxSubscriptionsPerConnection: number;
  maxSubscriptions: number;
  /** Open subscription sockets one client address, and one user, may hold on a gateway replica. */
  maxConnectionsPerIp: number;
  maxConnectionsPerUser: number;
  /** Express "trust proxy": which hops may set X-Forwarded-For (false: the socket address is the client). */
  trustProxy: boolean | number | string;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  rateLimit: RateLimitConfig;
  queryLimits: QueryLimitsConfig;
  /** Processes serving the port (node:cluster, see cluster.ts); 1: this process alone. */
  workers: number;
  /** The period `salesMetrics` pushes figures for (a minute; shorter in tests). */
  salesMetricsIntervalMs: number;
}

/** Requests per minute per bucket, counted in Redis so every gateway replica shares them. */
export interface RateLimitConfig {
  perUser: number;
  perIp: number;
  /**
   * Unsuccessful sign-in attempts (login, register, refreshToken, changePassword, resetPassword) per IP:
   * generous, since many people share an address; guessing at one account meets the per-account limits
   * first. An attempt refused only for its input (BAD_USER_INPUT: a malformed email, a short password)
   * guesses nothing and is not counted.
   */
  authPerIp: number;
  /** Unsuccessful sign-ins per account from all addresses, and per (account, address), per `authAccountWindowMs`. */
  authPerAccount: number;
  authPerAccountIp: number;
  authAccountWindowMs: number;
  windowMs: number;
}

/** Static limits checked on every operation before any subgraph is called. */
export interface QueryLimitsConfig {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  /** The same response key repeated in one selection set (fragments included). */
  maxDuplicateFields: number;
  /** Parser token budget: bounds the CPU spent on a document before it is even validated. */
  maxTokens: number;
}

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const read = envReader(env);
  const base = loadBaseConfig(env);
  const development = base.nodeEnv !== "production";
  const poll = read.int("SUPERGRAPH_POLL_INTERVAL_MS", 0, { min: 0 });
  const port = read.int("PORT", DEFAULT_PORTS.gateway, { min: 0, max: 65535 });
  return {
    ...base,
    port,
    supergraphPath: read.string("SUPERGRAPH_PATH", join(__dirname, "..", "..", "schema", "supergraph.graphql")),
    pollIntervalMs: poll > 0 ? poll : null,
    corsOrigins: read
      .string("CORS_ORIGINS", development ? `https://studio.apollographql.com,http://localhost:${port},http://127.0.0.1:${port}` : "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
    introspection: read.bool("GRAPHQL_INTROSPECTION", development),
    sandbox: read.bool("GRAPHQL_SANDBOX", development),
    maxSubscriptionsPerConnection: read.int("MAX_SUBSCRIPTIONS_PER_CONNECTION", 50, { min: 1 }),
    maxSubscriptions: read.int("MAX_SUBSCRIPTIONS", 20000, { min: 1 }),
    maxConnectionsPerIp: read.int("MAX_CONNECTIONS_PER_IP", development ? 1000 : 100, { min: 1 }),
    maxConnectionsPerUser: read.int("MAX_CONNECTIONS_PER_USER", development ? 200 : 10, { min: 1 }),
    salesMetricsIntervalMs: read.int("SALES_METRICS_INTERVAL_MS", 60_000, { min: 1000 }),
    trustProxy: parseTrustProxy(read.optionalString("TRUST_PROXY")),
    maxBodyBytes: read.int("MAX_BODY_BYTES", 100 * 1024, { min: 1024 }),
    // Production uses every core; elsewhere one process (tests and `npm start` run many platforms side by side).
    workers: read.int("GATEWAY_WORKERS", development ? 1 : availableParallelism(), { min: 1, max: 64 }),
    // Production protects a public endpoint. Elsewhere (`npm start`, tests) one address runs a whole test
    // suite or a developer's scripts, often 50-100 sequential requests a second: the limits still exist
    // (and RATE_LIMITED can be seen), but well above what such a client sends.
    rateLimit: {
      perUser: read.int("RATE_LIMIT_PER_MINUTE", development ? 30_000 : 600, { min: 1 }),
      perIp: read.int("RATE_LIMIT_IP_PER_MINUTE", development ? 60_000 : 1200, { min: 1 }),
      authPerIp: read.int("AUTH_RATE_LIMIT_PER_MINUTE", development ? 300 : 100, { min: 1 }),
      authPerAccount: read.int("AUTH_ACCOUNT_RATE_LIMIT", development ? 150 : 50, { min: 1 }),
      authPerAccountIp: read.int("AUTH_ACCOUNT_IP_RATE_LIMIT", development ? 30 : 10, { min: 1 }),
      authAccountWindowMs: read.int("AUTH_ACCOUNT_WINDOW_SECONDS", 900, { min: 1 }) * 1000,
      windowMs: 60_000,
    },
    queryLimits: {
      maxDepth: read.int("MAX_QUERY_DEPTH", 12, { min: 1 }),
      maxCost: read.int("MAX_QUERY_COST", 20_000, { min: 1 }),
      maxAliases: read.int("MAX_ALIASES", 30, { min: 0 }),
      maxDuplicateFields: read.int("MAX_DUPLICATE_FIELDS", 10, { min: 1 }),
      maxTokens: read.int("MAX_QUERY_TOKENS", 5000, { min: 100 }),
    },
  };
}

/** `TRUST_PROXY`: unset/false, true, a hop count, or a list of addresses/subnets ("loopback, 10.0.0.0/8"). */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || ["false", "0", "no", "off"].includes(value.toLowerCase())) return false;
  if (["true", "yes", "on"].includes(value.toLowerCase())) return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}
