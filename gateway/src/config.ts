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
}

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const read = envReader(env);
  const base = loadBaseConfig(env);
  const development = base.nodeEnv !== "production";
  const poll = read.int("SUPERGRAPH_POLL_INTERVAL_MS", 0, { min: 0 });
  return {
    ...base,
    port: read.int("PORT", DEFAULT_PORTS.gateway, { min: 0, max: 65535 }),
    supergraphPath: read.string("SUPERGRAPH_PATH", join(__dirname, "..", "..", "schema", "supergraph.graphql")),
    pollIntervalMs: poll > 0 ? poll : null,
    corsOrigins: read
      .string("CORS_ORIGINS", development ? "https://studio.apollographql.com,http://localhost:4000,http://127.0.0.1:4000" : "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
    introspection: read.bool("GRAPHQL_INTROSPECTION", development),
    sandbox: read.bool("GRAPHQL_SANDBOX", development),
    maxSubscriptionsPerConnection: read.int("MAX_SUBSCRIPTIONS_PER_CONNECTION", 50, { min: 1 }),
    maxSubscriptions: read.int("MAX_SUBSCRIPTIONS", 20000, { min: 1 }),
  };
}
