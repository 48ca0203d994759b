import "reflect-metadata";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import type { MigrationObject } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { NonEmptyArray } from "type-graphql";
import type { Tracer } from "@opentelemetry/api";
import {
  OutboxRelay,
  OutboxRetention,
  StreamConsumer,
  StreamTrimmer,
  commitWithEvents,
  createRedis,
  streamsEntities,
  streamsMigrations,
  type RedisClient,
} from "@commerce/streams";
import { producers, type EventEnvelope, type ParsedEvent, type Producer } from "@commerce/schema";
import { auditEntities, auditMigrations } from "./audit";
import { OverloadedError, TokenError, bodyHash, verifyIdentityHeaders, type VerifiedRequest } from "./auth";
import { OVERLOADED_HEADER, RETRY_AFTER_SECONDS, overloadedBody } from "./overload";
import { ReplayGuard } from "./replay";
import { literalInputPlugin } from "./literal-input";
import { loadSubgraphConfig, envReader, type EnvReader, type SubgraphConfig } from "./config";
import type { SubgraphName } from "./services";
import { createContext, type Context } from "./context";
import { bindHandlers, type EventHandlers } from "./events";
import { createErrorFormatter } from "./errors";
import { createLogger, currentLogger, withLogger, type Logger } from "./logger";
import { bindMetrics, createMetrics, graphqlMetricsPlugin, metricsAccess, type Metrics } from "./metrics";
import { registerStreamMetrics } from "./stream-metrics";
import { activeTraceId, createTracing, traceRequests, tracingPlugin } from "./tracing";
import { withCurrentRole } from "./roles";
import { openDatabase, type Orm } from "./orm";
import { buildFederatedSchema, type ReferenceResolvers } from "./schema";

/** What a running subgraph offers its domain code (resolvers get it in their constructor). */
export interface Runtime<Settings = unknown> {
  config: SubgraphConfig;
  settings: Settings;
  logger: Logger;
  orm: Orm;
  /** One Redis or a cluster client (`REDIS_CLUSTER_NODES`, `redis+cluster://`). */
  redis: RedisClient;
  metrics: Metrics;
  /** This service's tracer (a no-op unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set); spans nest under the active one. */
  tracer: Tracer;
  /**
   * Runs `work` in one database transaction; the events it emits are written to
   * the outbox in that same transaction and published after commit.
   */
  commit<T>(em: EntityManager, work: (tx: EntityManager, emit: (event: EventEnvelope) => void) => Promise<T>): Promise<T>;
}

/** A long-running job of a subgraph (timers, sweepers), started after the server and stopped before it. */
export interface Job {
  stop(): Promise<void>;
}

/** A subgraph is a folder of domain code plus this description of it. */
export interface SubgraphModule<Settings = unknown> {
  name: SubgraphName;
  entities: NonNullable<Parameters<typeof openDatabase>[0]["entities"]>;
  migrations: MigrationObject[];
  // eslint-disable-next-line @typescript-eslint/ban-types
  resolvers: NonEmptyArray<Function>;
  // eslint-disable-next-line @typescript-eslint/ban-types
  orphanedTypes?: Function[];
  referenceResolvers?: ReferenceResolvers;
  /**
   * Whether answers carry `Cache-Control` from the schema's `@cacheControl` hints (for the gateway's
   * catalog cache). Without hints every answer is uncacheable, so other subgraphs skip the per-field work.
   */
  cacheHints?: boolean;
  /** Apollo Server plugins of this subgraph, after the kit's own (metrics, tracing). */
  plugins?: ApolloServerPlugin<Context>[];
  /** Service-specific settings, read from the environment once at start-up. */
  settings?: (read: EnvReader) => Settings;
  /** Saga events this service reacts to, by producer stream and event type; handlers get the settings in their context. */
  consumes?: Consumes<Settings>;
  /**
   * Read models fed by consumer groups of their own (named `group`, not after the service): they keep
   * their own position, retries and dead letters, so a slow projection never holds the service's handlers back.
   */
  projections?: (Consumes<Settings> & { group: string })[];
  /**
   * For a service whose stream is a live feed no consumer group reads (the gateway follows it with
   * XREAD): entries older than this are trimmed. Unset, a stream no group reads is kept whole.
   */
  feedRetentionMs?: number;
  /** Runs once after migrations and before the endpoint opens (e.g. bootstrap data). */
  prepare?: (runtime: Runtime<Settings>) => Promise<void>;
  /** Background jobs started once the service is up. */
  jobs?: (runtime: Runtime<Settings>) => Job[];
}

/** The streams a subgraph reads and its handler per event type. */
export interface Consumes<Settings = unknown> {
  streams: Producer[];
  handlers: EventHandlers<Settings>;
}

export interface RunningSubgraph<Settings = unknown> {
  url: string;
  port: number;
  runtime: Runtime<Settings>;
  stop(): Promise<void>;
}

/**
 * Starts one subgraph: config, logger, database + migrations, Redis, outbox
 * relay, stream consumers, the federated GraphQL endpoint, `/health`,
 * `/ready` and `/metrics`. `stop()` shuts it down in the safe order.
 */
export async function startSubgraph<Settings>(
  module: SubgraphModule<Settings>,
  env: Record<string, string | undefined> = process.env,
): Promise<RunningSubgraph<Settings>> {
  const config = loadSubgraphConfig(module.name, env);
  const settings = (module.settings?.(envReader(env)) ?? {}) as Settings;
  const logger = createLogger({ service: module.name, level: config.logLevel, pretty: config.logPretty });
  const metrics = createMetrics(module.name);
  const tracing = createTracing({ service: module.name, endpoint: config.otlpEndpoint });

  const orm = await openDatabase({
    databaseUrl: config.databaseUrl,
    // Every subgraph keeps an append-only audit log (see audit.ts).
    entities: [...module.entities, ...streamsEntities, ...auditEntities],
    migrations: [...streamsMigrations, ...auditMigrations, ...module.migrations],
    logger,
    onQuery: () => {
      metrics.dbQueries.inc();
      const scope = statementScope.getStore();
      if (scope) scope.count += 1;
    },
  });
  bindMetrics(orm, metrics);
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));

  const relay = new OutboxRelay({
    orm,
    redis,
    prefix: config.streamPrefix,
    logger: logger.child({ component: "outbox-relay" }),
    tracer: tracing.tracer,
    onStatement: () => metrics.dbQueries.inc(),
    replicaAcks: config.streams.replicaAcks,
  });
  const runtime: Runtime<Settings> = {
    config,
    settings,
    logger,
    orm,
    redis,
    metrics,
    tracer: tracing.tracer,
    commit: (em, work) => commitWithEvents(em, work, { tracer: tracing.tracer }),
  };

  await module.prepare?.(runtime);

  const schema = await buildFederatedSchema(
    {
      resolvers: module.resolvers,
      orphanedTypes: module.orphanedTypes,
      container: { get: (someClass: new (runtime: Runtime<Settings>) => unknown) => instanceFor(someClass, runtime) },
    },
    module.referenceResolvers,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    formatError: createErrorFormatter(logger),
    // Inline tracing only feeds Apollo Studio, which we do not use: it would add bytes to every response.
    plugins: [
      metricsPlugin(metrics),
      tracingPlugin<Context>(),
      literalInputPlugin<Context>(),
      ApolloServerPluginInlineTraceDisabled(),
      ...(module.cacheHints ? [] : [ApolloServerPluginCacheControlDisabled()]),
      ...(module.plugins ?? []),
    ],
    introspection: true,
    includeStacktraceInErrorResponses: false,
  });
  await apollo.start();

  const app = express();
  app.disable("x-powered-by");
  app.get("/health", (_req, res) => void res.json({ status: "ok", service: module.name }));
  // Set when stop() begins: a load balancer stops sending work before the server closes.
  let draining = false;
  app.get("/ready", async (_req, res) => {
    try {
      if (draining) throw new Error("shutting down");
      await orm.em.getConnection().execute("select 1");
      await redis.ping();
      res.json({ status: "ready" });
    } catch (error) {
      res.status(503).json({ status: "unavailable", reason: (error as Error).message });
    }
  });
  const mayScrape = metricsAccess(config.metricsToken);
  app.get("/metrics", async (req, res) => {
    if (!mayScrape(req)) return void res.status(403).type("text/plain").send("metrics: send the METRICS_TOKEN as a bearer token\n");
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const nonceFallbacks = metrics.counter(
    "internal_nonce_fallbacks_total",
    "Signed requests whose nonce was remembered in this process only, Redis not answering",
  );
  const replays = new ReplayGuard(redis, config.streamPrefix, logger, () => nonceFallbacks.inc());
  app.use(
    "/graphql",
    // Counts the SQL statements each GraphQL request causes (batching regressions show up per operation).
    (_req, _res, next) => statementScope.run({ count: 0 }, next),
    // The operation's span, continued from the gateway's `traceparent`.
    traceRequests(tracing.tracer),
    // The raw body's hash, which the signature covers.
    express.json({ limit: "1mb", verify: (req, _res, raw) => void ((req as { rawBodyHash?: string }).rawBodyHash = bodyHash(raw)) }),
    async (req, res, next) => {
      // Only the gateway (and our own services) may call a subgraph: the identity headers must carry a
      // valid signature made with INTERNAL_SECRET, for this subgraph, this method and body, used once.
      const refuse = (reason: string) =>
        void res.status(401).json({
          errors: [{ message: `Subgraphs accept only signed requests from the gateway (${reason}).`, extensions: { code: "UNAUTHENTICATED" } }],
        });
      let verified: VerifiedRequest;
      try {
        verified = verifyIdentityHeaders(req.headers, config.internalSecret, {
          audience: module.name,
          method: req.method,
          bodyHash: (req as { rawBodyHash?: string }).rawBodyHash ?? bodyHash(undefined),
        });
      } catch (error) {
        if (error instanceof OverloadedError) {
          logger.warn({ waitedMs: error.waitedMs }, "request refused unexecuted: it queued past its signature's validity");
          return void res
            .status(503)
            .set({ [OVERLOADED_HEADER]: "1", "retry-after": String(RETRY_AFTER_SECONDS) })
            .json(overloadedBody());
        }
        return refuse(error instanceof TokenError ? error.message : "invalid credentials");
      }
      if (!(await replays.firstUse(verified.nonce, verified.expiresAt))) return refuse("replayed gateway credentials");
      res.locals.verified = verified;
      res.locals.requestId = verified.requestId || randomUUID();
      // Every line logged while serving the request carries its id (the gateway's) and trace id, even
      // from code holding only the process logger (formatError): see currentLogger.
      const traceId = activeTraceId();
      withLogger(logger.child({ requestId: res.locals.requestId, ...(traceId ? { traceId } : {}) }), next);
    },
    expressMiddleware(apollo, {
      context: async ({ res }) => {
        const { identity } = res.locals.verified as VerifiedRequest;
        const id = res.locals.requestId as string;
        const requestLogger = currentLogger(logger);
        // The token's role may be stale: a role changed since it was issued wins (see roles.ts).
        const caller = await withCurrentRole(redis, config.streamPrefix, identity, requestLogger);
        return createContext({ em: orm.em.fork(), identity: caller, requestId: id, logger: requestLogger });
      },
    }),
  );

  const httpServer: Server = createServer(app);
  // The gateway keeps connections to subgraphs alive; a subgraph closing an idle socket at the same
  // moment the gateway reuses it shows up as "socket hang up". Outlive the client's idle timeout.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;

  await relay.start();
  const retention = new OutboxRetention({ orm, logger: logger.child({ component: "outbox-retention" }) });
  retention.start();
  // The producing service keeps its own stream bounded (never below what a group still needs).
  const trimmer = (producers as readonly string[]).includes(module.name)
    ? new StreamTrimmer({
        redis,
        prefix: config.streamPrefix,
        producers: [module.name as Producer],
        maxAgeWithoutGroupMs: module.feedRetentionMs,
        logger: logger.child({ component: "trimmer" }),
      })
    : null;
  trimmer?.start();
  const consumes = module.consumes;
  let observeHandler: ((event: ParsedEvent, handlerMs: number) => void) | undefined;
  const consumerFor = (group: string, of: Consumes<Settings>, onProcessed?: (event: ParsedEvent, handlerMs: number) => void) =>
    new StreamConsumer({
      redis,
      orm,
      prefix: config.streamPrefix,
      service: group,
      consumerName: `${group}-${process.pid}-${randomUUID().slice(0, 8)}`,
      streams: of.streams,
      handlers: bindHandlers(of.handlers, runtime.settings),
      logger: logger.child({ component: group === module.name ? "consumer" : `consumer:${group}` }),
      tracer: tracing.tracer,
      concurrency: config.streams.concurrency,
      maxBatch: config.streams.maxBatch,
      replicaAcks: config.streams.replicaAcks,
      onProcessed,
    });
  const consumer = consumes ? consumerFor(module.name, consumes, (event, handlerMs) => observeHandler?.(event, handlerMs)) : null;
  const projectionConsumers = (module.projections ?? []).map((projection) => consumerFor(projection.group, projection));
  observeHandler = registerStreamMetrics({
    metrics,
    redis,
    orm,
    prefix: config.streamPrefix,
    service: module.name,
    streams: consumes?.streams ?? [],
    consumer,
    relay,
    logger,
  });
  await consumer?.start();
  await Promise.all(projectionConsumers.map((projection) => projection.start()));
  const jobs = module.jobs?.(runtime) ?? [];
  logger.info({ port }, `${module.name} subgraph ready`);

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info("shutting down");
      draining = true;
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await apollo.stop();
      await Promise.all(jobs.map((job) => job.stop()));
      await Promise.all([consumer?.stop(), ...projectionConsumers.map((projection) => projection.stop())]);
      await trimmer?.stop();
      // What the last handlers and requests committed is published now rather than by the next replica.
      await relay.stop({ flushTimeoutMs: 2_000 });
      await retention.stop();
      redis.disconnect();
      await orm.close(true);
      await tracing.shutdown();
    })());

  return { url: `http://127.0.0.1:${port}/graphql`, port, runtime, stop };
}

const instances = new WeakMap<object, unknown>();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function instanceFor<T>(someClass: new (runtime: Runtime<any>) => T, runtime: Runtime<any>): T {
  let instance = instances.get(someClass) as T | undefined;
  if (!instance) {
    instance = new someClass(runtime);
    instances.set(someClass, instance);
  }
  return instance;
}

/** GraphQL metrics, plus the SQL statements each operation caused. */
function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return graphqlMetricsPlugin<Context>(metrics, (operation) => {
    metrics.dbStatementsByOperation.inc({ operation }, statementScope.getStore()?.count ?? 0);
  });
}

/** The SQL statement count of the GraphQL request in progress (see the `/graphql` middleware). */
const statementScope = new AsyncLocalStorage<{ count: number }>();

/**
 * Entry point for a subgraph's `main.ts`: starts it and stops it cleanly on
 * SIGINT/SIGTERM. A start-up failure (bad config, database down) exits non-zero
 * with the reason.
 */
export function runSubgraph<Settings>(module: SubgraphModule<Settings>): void {
  startSubgraph(module).then(
    (running) => {
      const shutdown = () => {
        running.stop().then(
          () => process.exit(0),
          (error) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    },
    (error) => {
      console.error(`${module.name} failed to start: ${(error as Error).stack ?? error}`);
      process.exit(1);
    },
  );
}
