/**
 * Gateway test bench: the real user subgraph (throwaway database; known here by its SDL and URL only), a tiny
 * in-memory "probe" subgraph with lists and failures on demand that counts
 * the operations it receives, and a "lost" subgraph whose address nobody
 * listens on. They are composed into a supergraph written to a temp file,
 * and gateways are started in-process against it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeServices } from "@apollo/composition";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import { buildSubgraphSchema } from "@apollo/subgraph";
import express from "express";
import { GraphQLScalarType, Kind, parse } from "graphql";
import pino from "pino";
import { BadUserInputError, createErrorFormatter, parseJwtKeys, signAccessToken, type Logger, type Role } from "@commerce/kit";
import { freePort, memoryLogger as testLogger, randomStreamPrefix } from "@commerce/testing";
import { startServiceByName, TEST_INTERNAL_SECRET, TEST_JWT_KEYS, type TestSubgraph } from "@commerce/testing/subgraph";
import { loadGatewayConfig } from "../config";
import { startGateway, type RunningGateway } from "../server";

const PROBE_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    widgets(first: Int): WidgetConnection!
    boom: String
    badInput(name: String!): String
    since(at: DateTime!): String
    echoIdentity: String
    "A public catalog field: its anonymous answers may be kept by the catalog cache."
    shelf: [String!]! @cacheControl(maxAge: 30)
  }
  type Subscription { ticks: Int }
  directive @cacheControl(maxAge: Int, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  scalar DateTime
  type Widget @key(fields: "id") { id: ID! name: String! parts: [Widget!]! twin: Widget }
  type WidgetConnection { edges: [WidgetEdge!]! totalCount: Int! }
  type WidgetEdge { cursor: String! node: Widget! }
`;
const LOST_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { lost: String }
`;

/** An ISO date-time scalar that refuses anything else, as type-graphql's DateTime does in the real subgraphs. */
const dateTime = new GraphQLScalarType({
  name: "DateTime",
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (typeof value !== "string" || Number.isNaN(date.getTime()))
      throw new TypeError(`DateTime cannot represent an invalid date-time-string ${String(value)}.`);
    return date;
  },
  parseLiteral: (ast) => {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new TypeError("DateTime cannot represent this literal.");
    return date;
  },
});

const widget = (id: number) => ({ id: String(id), name: `widget ${id}` });

/** The probe subgraph: kit error formatting (like every real subgraph), and a count of operations received. */
async function startProbe(logger: Logger) {
  let operations = 0;
  let shelf: string[] = [];
  const apollo = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(PROBE_SDL),
      resolvers: {
        Query: {
          widgets: (_: unknown, { first }: { first?: number }) => {
            const edges = Array.from({ length: Math.min(first ?? 2, 5) }, (_, i) => ({ cursor: String(i), node: widget(i) }));
            return { edges, totalCount: edges.length };
          },
          boom: () => {
            throw new Error('relation "wallets" does not exist (postgres at db-7.internal.example:5432)');
          },
          badInput: (_: unknown, { name }: { name: string }) => {
            throw new BadUserInputError(`"${name}" is not allowed: use letters only.`, "name");
          },
          since: (_: unknown, { at }: { at: Date }) => at.toISOString(),
          shelf: () => shelf,
        },
        DateTime: dateTime,
        Widget: {
          parts: (parent: { id: string }) => [widget(Number(parent.id) * 10 + 1)],
          twin: (parent: { id: string }) => widget(Number(parent.id)),
        },
      },
    }),
    formatError: createErrorFormatter(logger),
    plugins: [ApolloServerPluginInlineTraceDisabled(), { requestDidStart: async () => void (operations += 1) }],
  });
  await apollo.start();
  const app = express();
  app.use("/graphql", express.json(), expressMiddleware(apollo));
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    operations: () => operations,
    stock: (items: string[]) => void (shelf = items),
    async stop() {
      await apollo.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A logger whose records are kept in memory, to check what the gateway logged. */
export const memoryLogger = () => testLogger({ level: "info", base: { service: "gateway" } });

export interface Bench {
  user: TestSubgraph<unknown>;
  probeOperations(): number;
  /** What the probe's cacheable `shelf` answers from now on. */
  stockShelf(items: string[]): void;
  /** JSON lines the probe subgraph logged. */
  probeLog(): string[];
  supergraphPath: string;
  /** Environment of a gateway against this bench; `overrides` win. */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** Starts a gateway; stopped by `stop()`. */
  gateway(overrides?: Record<string, string>, logger?: Logger): Promise<RunningGateway>;
  stop(): Promise<void>;
}

export async function startBench(): Promise<Bench> {
  const probeLog = memoryLogger();
  const [user, probe, lostPort] = await Promise.all([
    startServiceByName("user", { SMTP_URL: process.env.TEST_SMTP_URL as string }),
    startProbe(probeLog.logger),
    freePort(),
  ]);
  const composed = composeServices([
    { name: "user", typeDefs: parse(user.sdl), url: user.url },
    { name: "probe", typeDefs: parse(PROBE_SDL), url: probe.url },
    { name: "lost", typeDefs: parse(LOST_SDL), url: `http://127.0.0.1:${lostPort}/graphql` },
  ]);
  if (composed.errors?.length) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join("; ")}`);
  const supergraphPath = join(mkdtempSync(join(tmpdir(), "gateway-test-")), "supergraph.graphql");
  writeFileSync(supergraphPath, (composed as { supergraphSdl: string }).supergraphSdl);
  const streamPrefix = randomStreamPrefix("gateway");
  const gateways: RunningGateway[] = [];

  const env = (overrides: Record<string, string> = {}) => ({
    NODE_ENV: "test",
    PORT: "0",
    LOG_LEVEL: "silent",
    REDIS_URL: process.env.TEST_REDIS_URL as string,
    STREAM_PREFIX: streamPrefix,
    INTERNAL_SECRET: TEST_INTERNAL_SECRET,
    JWT_KEYS: TEST_JWT_KEYS,
    SUPERGRAPH_PATH: supergraphPath,
    SUBGRAPH_USER_URL: user.url,
    // Tests stand in for a load balancer: each test gives its "client" its own X-Forwarded-For address.
    TRUST_PROXY: "loopback",
    ...overrides,
  });
  return {
    user,
    probeOperations: probe.operations,
    stockShelf: probe.stock,
    probeLog: probeLog.lines,
    supergraphPath,
    env,
    async gateway(overrides = {}, logger) {
      const config = loadGatewayConfig(env(overrides));
      const gateway = await startGateway(config, logger ?? pino({ level: "silent" }));
      gateways.push(gateway);
      return gateway;
    },
    async stop() {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await Promise.all([user.stop(), probe.stop()]);
    },
  };
}

/** What a suite of {@link useGatewayBench} works with; set by its `beforeAll`. */
export interface GatewaySuite {
  bench: Bench;
  gateway: RunningGateway;
  /** POSTs `body` to the gateway from a fresh client address, so rate limits never interfere between tests. */
  ask(body: unknown, headers?: Record<string, string>): Promise<HttpResult>;
}

/** Registers the hooks of a suite on one bench and one gateway (started with `overrides`), stopped after it. */
export function useGatewayBench(overrides: Record<string, string> = {}, logger?: Logger): GatewaySuite {
  const suite = {
    ask: (body: unknown, headers: Record<string, string> = {}) => post(suite.gateway.url, body, { "x-forwarded-for": clientIp(), ...headers }),
  } as GatewaySuite;
  beforeAll(async () => {
    suite.bench = await startBench();
    suite.gateway = await suite.bench.gateway(overrides, logger);
  }, 60_000);
  afterAll(() => suite.bench?.stop());
  return suite;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  text: string;
}

/** POSTs a JSON body to a gateway (or any URL) and reads the answer, JSON or not. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: HttpResult["body"] = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the tests that care look at `text`
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

let clientCounter = 0;
/** A fresh client address (for X-Forwarded-For), so tests never share a rate-limit bucket. */
export function clientIp(): string {
  clientCounter += 1;
  return `198.51.${Math.floor(clientCounter / 250)}.${clientCounter % 250}`;
}

/** An access token as the user subgraph would issue it, or with one thing wrong. */
export function accessToken(
  claims: { sub: string; role?: Role; email?: string },
  options: { keys?: string; issuer?: string; audience?: string; ttlSeconds?: number; now?: number } = {},
): string {
  return signAccessToken(
    { sub: claims.sub, role: claims.role ?? "CUSTOMER", email: claims.email ?? `${claims.sub}@example.com` },
    {
      keys: parseJwtKeys("JWT_KEYS", options.keys ?? TEST_JWT_KEYS),
      issuer: options.issuer ?? "commerce-platform",
      audience: options.audience ?? "commerce-api",
      ttlSeconds: options.ttlSeconds ?? 900,
      now: options.now,
    },
  ).token;
}
