import "reflect-metadata";
import { readFileSync } from "node:fs";
import cluster from "node:cluster";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControl } from "@apollo/server/plugin/cacheControl";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import proxyAddr from "proxy-addr";
import type { GraphQLSchema } from "graphql";
import {
  createLogger,
  createMetrics,
  graphqlMetricsPlugin,
  metricsAccess,
  literalInputPlugin,
  createTracing,
  traceRequests,
  tracingPlugin,
  withLogger,
  activeTraceId,
  RateLimitedError,
  withCurrentRole,
  type Identity,
  type Logger,
} from "@commerce/kit";
import { createRedis } from "@commerce/streams";
import { jsonBody, jsonErrors } from "./body";
import { serveResetPasswordPage } from "./reset-password-page";
import { catalogCachePlugin } from "./catalog-cache";
import { metricsText } from "./cluster";
import type { GatewayConfig } from "./config";
import type { GatewayContext } from "./context";
import { corsMiddleware, originPolicy } from "./cors";
import { SignedDataSource, subgraphUrl } from "./data-source";
import { createGatewayErrorFormatter, operationResolutionPlugin } from "./errors";
import { identityFromAuthorization } from "./identity";
import { queryLimitsPlugin } from "./query-limits";
import { operationBuckets, RateLimiter, rateLimitPlugin } from "./rate-limit";
import { NotificationFeed, OrderEventFeed } from "./subscriptions/order-events";
import { attachSubscriptions } from "./subscriptions/server";

/** What a client may send as its own request id: short, no spaces or control characters (it goes into every log line). */
const REQUEST_ID = /^[\w.:-]{8,128}$/;

export interface RunningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The one public endpoint: Apollo Gateway on `/graphql` (HTTP and graphql-ws), Apollo Sandbox on a
 * browser GET, `/health`, `/ready`, `/metrics`; every limit applies before any subgraph is called, in
 * the order of docs/GATEWAY.md, "The request pipeline".
 */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger = createLogger({ service: "gateway", level: config.logLevel, pretty: config.logPretty }),
): Promise<RunningGateway> {
  const metrics = createMetrics("gateway");
  // Process-wide, so Apollo Gateway's own spans (plan, fetch per subgraph) are recorded under ours.
  const tracing = createTracing({ service: "gateway", endpoint: config.otlpEndpoint, global: true });
  const refusals = metrics.counter("gateway_refusals_total", "Requests refused by the gateway's own defences, by reason and rule", [
    "reason",
    "rule",
  ]);
  const rateLimited = (bucket: string) => refusals.inc({ reason: "rate_limited", rule: bucket });
  const tooComplex = (rule: string) => refusals.inc({ reason: "too_complex", rule });
  const rateLimiterErrors = metrics.counter("gateway_rate_limiter_errors_total", "Rate-limit checks that failed open because Redis did not answer");
  const limiter = await RateLimiter.connect(config.redisUrl, config.streamPrefix, config.rateLimit.windowMs, logger, () => rateLimiterErrors.inc());
  const gateway = new ApolloGateway({
    supergraphSdl: config.pollIntervalMs
      ? new IntrospectAndCompose({
          subgraphs: Object.entries(config.subgraphUrls).map(([name, url]) => ({ name, url })),
          pollIntervalInMs: config.pollIntervalMs,
        })
      : readFileSync(config.supergraphPath, "utf8"),
    buildService: ({ name, url }) =>
      new SignedDataSource({ name, url: subgraphUrl(config, name, url), secret: config.internalSecret, signIns: name === "user" ? config : null }),
    logger,
  });

  const catalogLookups = metrics.counter("gateway_catalog_cache_lookups_total", "Anonymous queries looked up in the catalog cache, by result", [
    "result",
  ]);
  const catalogCache = catalogCachePlugin(config.redisUrl, config.streamPrefix, logger.child({ component: "catalog-cache" }), (result) =>
    catalogLookups.inc({ result }),
  );

  const app = express();
  app.disable("x-powered-by");
  // Behind a load balancer the client IP (the rate-limit key) is in X-Forwarded-For; trust it only from the configured hops.
  app.set("trust proxy", config.trustProxy);
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
    formatError: createGatewayErrorFormatter(logger, tooComplex),
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // HTTP batching stays off: one request, one operation, one rate-limit unit.
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: config.queryLimits.maxTokens },
    plugins: [
      operationResolutionPlugin<GatewayContext>(),
      literalInputPlugin<GatewayContext>(),
      rateLimitPlugin(limiter, config.rateLimit, rateLimited),
      queryLimitsPlugin(config.queryLimits, tooComplex),
      tracingPlugin<GatewayContext>(),
      // Cache hints decide what the catalog cache keeps; clients get no Cache-Control (a price changes at once).
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      catalogCache,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      config.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }) : ApolloServerPluginLandingPageDisabled(),
      graphqlMetricsPlugin<GatewayContext>(metrics),
    ],
  });
  await apollo.start();

  const origins = originPolicy(config.corsOrigins);
  // In a cluster, which worker answered and the subscriptions it holds (each WebSocket lives on one worker).
  const workerInfo = () => (cluster.isWorker ? { worker: cluster.worker?.id, subscriptions: subscriptions?.count() ?? 0 } : {});
  app.get("/health", (_req, res) => void res.json({ status: "ok", service: "gateway", ...workerInfo() }));
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  // Set when stop() begins: a load balancer stops sending work before the server closes.
  let draining = false;
  app.get("/ready", async (_req, res) => {
    try {
      if (draining) throw new Error("shutting down");
      await redis.ping();
      if (!schema) throw new Error("supergraph not loaded");
      res.json({ status: "ready" });
    } catch (error) {
      res.status(503).json({ status: "unavailable", reason: (error as Error).message });
    }
  });
  const metricsOfAllWorkers = metricsText(metrics.registry);
  const mayScrape = metricsAccess(config.metricsToken);
  app.get("/metrics", async (req, res) => {
    if (!mayScrape(req)) return void res.status(403).type("text/plain").send("metrics: send the METRICS_TOKEN as a bearer token\n");
    res.type(metrics.registry.contentType).send(await metricsOfAllWorkers());
  });
  serveResetPasswordPage(app);
  app.use(
    "/graphql",
    // A public endpoint: a client's traceparent is linked, never continued (it cannot pick our trace ids or sampling).
    traceRequests(tracing.tracer, { trusted: false }),
    (req, res, next) => {
      // The request id every service logs for this request (subgraphs get it in x-request-id); a client's
      // own id is kept when it looks like an id, so its logs and ours can be matched.
      const offered = req.headers["x-request-id"];
      const requestId = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : randomUUID();
      res.locals.requestId = requestId;
      res.setHeader("x-request-id", requestId);
      const traceId = activeTraceId();
      withLogger(logger.child({ requestId, ...(traceId ? { traceId } : {}) }), next);
    },
    // After the request id: a refused origin's 403 carries one too.
    corsMiddleware(origins),
    ...jsonBody(config.maxBodyBytes),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => ({
        identity: identityFromAuthorization(req.headers.authorization, config),
        requestId: res.locals.requestId as string,
        ip: req.ip ?? req.socket.remoteAddress ?? "unknown",
      }),
    }),
  );
  app.use(jsonErrors(config.maxBodyBytes, logger, () => refusals.inc({ reason: "too_large", rule: "body" })));

  const feed = new OrderEventFeed(
    createRedis(config.redisUrl, { maxRetriesPerRequest: null }),
    config.streamPrefix,
    logger.child({ component: "order-feed" }),
  );
  const notifications = new NotificationFeed(
    createRedis(config.redisUrl, { maxRetriesPerRequest: null }),
    config.streamPrefix,
    logger.child({ component: "notification-feed" }),
  );
  await Promise.all([feed.start(), notifications.start()]);
  subscriptions = attachSubscriptions({
    httpServer,
    config,
    logger: logger.child({ component: "subscriptions" }),
    feed,
    notifications,
    schema: () => schema,
    isOriginAllowed: (origin) => origins.isAllowed(origin),
    // The client address as Express's req.ip would give it, under the same "trust proxy" setting.
    clientAddress: (request) => proxyAddr(request, app.get("trust proxy fn") as (address: string, hop: number) => boolean),
    onTooManyConnections: (rule) => refusals.inc({ reason: "too_many_connections", rule }),
    admit: async (identity, request) => {
      const ip = proxyAddr(request, app.get("trust proxy fn") as (address: string, hop: number) => boolean);
      const refused = await limiter.take(operationBuckets(config.rateLimit, ip, identity));
      if (!refused) return null;
      rateLimited(refused.bucket);
      return new RateLimitedError(refused.retryAfter);
    },
    onTooComplex: tooComplex,
    currentRole: async (identity) => (await withCurrentRole(redis, config.streamPrefix, identity, logger)) ?? identity,
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
    httpServer.listen(config.port, config.host, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  logger.info({ port }, `gateway ready at http://localhost:${port}/graphql`);

  let stopping: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        await subscriptions?.dispose();
        await Promise.all([feed.stop(), notifications.stop()]);
        await apollo.stop();
        redis.disconnect();
        catalogCache.disconnect();
        limiter.disconnect();
        await tracing.shutdown();
      })()),
  };
}
