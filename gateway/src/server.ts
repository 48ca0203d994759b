import "reflect-metadata";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import Redis from "ioredis";
import type { GraphQLSchema } from "graphql";
import { createErrorFormatter, createLogger, createMetrics, type Identity, type Logger } from "@commerce/kit";
import type { GatewayConfig } from "./config";
import type { GatewayContext } from "./context";
import { SignedDataSource } from "./data-source";
import { identityFromAuthorization } from "./identity";
import { OrderEventFeed } from "./subscriptions/order-events";
import { attachSubscriptions } from "./subscriptions/server";

export interface RunningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The one public endpoint: Apollo Gateway over the five subgraphs on
 * `/graphql` (HTTP for queries and mutations, graphql-ws for subscriptions),
 * Apollo Sandbox on a browser GET, `/health`, `/ready`, `/metrics`.
 */
export async function startGateway(config: GatewayConfig, logger: Logger = createLogger({ service: "gateway", level: config.logLevel, pretty: config.logPretty })): Promise<RunningGateway> {
  const metrics = createMetrics("gateway");
  const gateway = new ApolloGateway({
    supergraphSdl: config.pollIntervalMs
      ? new IntrospectAndCompose({
          subgraphs: Object.entries(config.subgraphUrls).map(([name, url]) => ({ name, url })),
          pollIntervalInMs: config.pollIntervalMs,
        })
      : readFileSync(config.supergraphPath, "utf8"),
    // Subgraph addresses come from configuration, whatever the supergraph file says.
    buildService: ({ name, url }) => new SignedDataSource(config.subgraphUrls[name as keyof typeof config.subgraphUrls] ?? (url as string), config.internalSecret),
    logger,
  });

  const app = express();
  app.disable("x-powered-by");
  const httpServer = createServer(app);
  let schema: GraphQLSchema | null = null;
  let subscriptions: ReturnType<typeof attachSubscriptions> | null = null;
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    const isUpdate = schema !== null;
    schema = apiSchema;
    // Live subscriptions were planned against the old schema: close them with "service restart" so clients resubscribe.
    if (isUpdate) subscriptions?.closeAll(1012, "Schema updated; resubscribe");
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: createErrorFormatter(logger),
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      config.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }) : ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart() {
          const started = process.hrtime.bigint();
          return {
            async willSendResponse({ operationName, operation, errors }) {
              const labels = { operation: operationName ?? "anonymous", type: operation?.operation ?? "unknown" };
              metrics.graphqlRequests.inc({ ...labels, outcome: errors?.length ? "error" : "ok" });
              metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const isOriginAllowed = (origin: string | undefined) => !origin || config.corsOrigins.includes(origin) || isSameHost(origin, config.port);
  app.get("/health", (_req, res) => void res.json({ status: "ok", service: "gateway" }));
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  app.get("/ready", async (_req, res) => {
    try {
      await redis.ping();
      if (!schema) throw new Error("supergraph not loaded");
      res.json({ status: "ready" });
    } catch (error) {
      res.status(503).json({ status: "unavailable", reason: (error as Error).message });
    }
  });
  app.get("/metrics", async (_req, res) => void res.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.use(
    "/graphql",
    (req, res, next) => {
      const origin = req.headers.origin;
      if (origin && isOriginAllowed(origin)) {
        res.setHeader("access-control-allow-origin", origin);
        res.setHeader("vary", "Origin");
        res.setHeader("access-control-allow-headers", "content-type, authorization, apollo-require-preflight, x-apollo-operation-name");
        res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      }
      if (req.method === "OPTIONS") return void res.sendStatus(origin && !isOriginAllowed(origin) ? 403 : 204);
      next();
    },
    express.json({ limit: "100kb" }),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        identity: identityFromAuthorization(req.headers.authorization, config),
        requestId: (req.headers["x-request-id"] as string | undefined) ?? randomUUID(),
        ip: req.ip ?? req.socket.remoteAddress ?? "unknown",
      }),
    }),
  );

  const feed = new OrderEventFeed(new Redis(config.redisUrl, { maxRetriesPerRequest: null }), config.streamPrefix, logger.child({ component: "order-feed" }));
  await feed.start();
  subscriptions = attachSubscriptions({
    httpServer,
    config,
    logger: logger.child({ component: "subscriptions" }),
    feed,
    schema: () => schema,
    isOriginAllowed,
    run: async (query: string, variables: Record<string, unknown>, identity: Identity | null) => {
      const response = await apollo.executeOperation(
        { query, variables },
        { contextValue: { identity, requestId: randomUUID(), ip: "subscription" } },
      );
      if (response.body.kind !== "single") throw new Error("incremental delivery is not supported for subscriptions");
      return response.body.singleResult;
    },
  });
  metrics.gauge("graphql_subscriptions", "Live subscriptions on this gateway", [], (gauge) => gauge.set(subscriptions?.count() ?? 0));

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, "0.0.0.0", resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  logger.info({ port }, `gateway ready at http://localhost:${port}/graphql`);

  let stopping: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        await subscriptions?.dispose();
        await feed.stop();
        await apollo.stop();
        redis.disconnect();
      })()),
  };
}

function isSameHost(origin: string, port: number): boolean {
  try {
    const url = new URL(origin);
    return ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) && Number(url.port) === port;
  } catch {
    return false;
  }
}
