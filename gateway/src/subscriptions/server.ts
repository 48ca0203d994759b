import type { IncomingMessage, Server } from "node:http";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { UnauthenticatedError, type Identity } from "@commerce/kit";
import { authenticate } from "../identity";
import type { GatewayConfig } from "../config";
import { NotificationSubscription } from "./notification-subscription";
import { SalesMetricsSubscription } from "./sales-metrics-subscription";
import type { NotificationFeed, OrderEventFeed } from "./order-events";
import { planSubscription, type SubscriptionPlan } from "./plan";
import { scopeOf, type Scope } from "./scope";
import { OrderSubscription, type QueryResult, type SharedRun } from "./subscription";

/** Bytes a socket may have unsent before it is closed as a slow consumer. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How long a shared execution of one change stays reusable by late subscribers of that change. */
const SHARE_MS = 2_000;
/** How long a new socket may take to send connection_init (graphql-ws's default of 3 s is tight under load). */
const CONNECTION_INIT_WAIT_MS = 10_000;
/** Interval of keep-alive pings (shorter in tests, so a test sees one quickly). */
const KEEP_ALIVE_MS = 12_000;
const KEEP_ALIVE_TEST_MS = 2_000;
/** Pause before the one retry of a subscription query that failed on our side. */
const RETRY_AFTER_MS = 250;
/** How long a slow client closed with 1013 gets to acknowledge before its socket is cut. */
const SLOW_CLIENT_GRACE_MS = 1_000;
/** On shutdown, how long clients get to answer the close handshake before their sockets are cut. */
const CLOSE_GRACE_MS = 2_000;

/** Close codes clients act on (graphql-ws clients retry all three). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_SERVICE_RESTART = 1012;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/**
 * The connection's access token expired. graphql-ws clients retry 4403 (Forbidden), calling a
 * `connectionParams` function again: that is where a client puts its fresh token.
 */
export const CLOSE_TOKEN_EXPIRED = 4403;

export type RunQuery = (query: string, variables: Record<string, unknown>, identity: Identity | null) => Promise<QueryResult>;

export interface SubscriptionDeps {
  httpServer: Server;
  config: GatewayConfig;
  logger: Logger;
  feed: OrderEventFeed;
  notifications: NotificationFeed;
  schema: () => GraphQLSchema | null;
  run: RunQuery;
  /** The subscriber with the role the subgraphs apply to them now (kit `withCurrentRole`). */
  currentRole: (identity: Identity) => Promise<Identity>;
  /** Whether a browser origin may open a socket (the configured CORS list). */
  isOriginAllowed: (origin: string | undefined) => boolean;
  /** The client address of an upgrade request, under the gateway's "trust proxy" setting (default: the socket's). */
  clientAddress?: (request: IncomingMessage) => string;
  /** A socket refused by the per-address or per-user cap: for metrics. */
  onTooManyConnections?: (rule: "ip" | "user") => void;
  /**
   * The rate limit of a `subscribe` (it counts like an HTTP operation): null to go on, or the error
   * to answer it with. `request` is the socket's upgrade request (its client address).
   */
  admit?: (identity: Identity, request: IncomingMessage) => Promise<GraphQLError | null>;
  /** A subscription refused for its size, depth, cost or aliases (QUERY_TOO_COMPLEX), by the rule it broke: for metrics. */
  onTooComplex?: (rule: string) => void;
}

interface Connection {
  /** Null when anonymous. */
  identity: Identity | null;
  socket: WebSocket;
  active: Map<string, LiveSubscription>;
  /** Closes the socket when its access token expires. */
  expiry?: NodeJS.Timeout;
}

type LiveSubscription = OrderSubscription | NotificationSubscription | SalesMetricsSubscription;

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
};

/**
 * Serves every `Subscription` field over graphql-ws on the gateway's `/graphql` path, with the
 * defences listed in docs/GATEWAY.md "Subscriptions".
 */
export function attachSubscriptions(deps: SubscriptionDeps) {
  const { config, logger, feed } = deps;
  const connections = new Map<Extra, Connection>();
  let total = 0;
  const addressOf = deps.clientAddress ?? ((request: IncomingMessage) => request.socket.remoteAddress ?? "unknown");
  // Open sockets per client address and per user, on this replica: what a socket costs (memory, a
  // timer, fan-out work) is this process's, so the caps are too.
  const perAddress = new Counter();
  const perUser = new Counter();

  const wss = new WebSocketServer({
    server: deps.httpServer,
    path: "/graphql",
    maxPayload: 64 * 1024,
    verifyClient: ({ origin, req }: { origin?: string; req: IncomingMessage }, accept: (ok: boolean, code?: number, message?: string) => void) => {
      // Browsers send Origin on WebSocket upgrades, and CSRF prevention does not cover them.
      if (!deps.isOriginAllowed(origin)) return accept(false, 403);
      if (perAddress.count(addressOf(req)) >= config.maxConnectionsPerIp) {
        deps.onTooManyConnections?.("ip");
        return accept(false, 429, "Too many subscription connections from this address");
      }
      accept(true);
    },
  });
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const address = addressOf(request);
    perAddress.add(address);
    socket.once("close", () => perAddress.remove(address));
  });

  // A subgraph hiccup (a reset keep-alive socket, a timeout under load) would otherwise end a
  // subscription at its first read or blank one event: such failures are retried once.
  const runWithRetry = async (query: string, variables: Record<string, unknown>, identity: Identity): Promise<QueryResult> => {
    try {
      const result = await deps.run(query, variables, identity);
      if (!result.errors?.some((error) => error.extensions?.code === "INTERNAL_SERVER_ERROR")) return result;
      logger.warn({ errors: result.errors.length }, "subscription query failed inside the supergraph; retrying once");
    } catch (error) {
      logger.warn({ err: error }, "subscription query failed; retrying once");
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
    return deps.run(query, variables, identity);
  };

  // One lookup in flight per user: the subscribers of one member share it, and none outlives its change.
  const lookups = new Map<string, Promise<Identity>>();
  const currentRole = (identity: Identity): Promise<Identity> => {
    if (identity.kind !== "user") return Promise.resolve(identity);
    let lookup = lookups.get(identity.userId);
    if (!lookup) {
      lookup = deps.currentRole(identity);
      lookups.set(identity.userId, lookup);
      const forget = () => void lookups.delete(identity.userId);
      lookup.then(forget, forget);
    }
    return lookup;
  };

  // A role scope's answer is shared only if its executor still holds the role once the subgraphs have
  // answered; otherwise (null) each subscriber resolves the change as themselves.
  const runInScope = async (scope: Scope, query: string, variables: Record<string, unknown>, identity: Identity): Promise<QueryResult | null> => {
    const result = await runWithRetry(query, variables, identity);
    if (!scope.role) return result;
    const now = await deps.currentRole(identity);
    return now.kind === "user" && now.role === scope.role ? result : null;
  };

  const shared = new Map<string, Promise<QueryResult | null>>();
  const run: SharedRun = async (shareKey, scope, query, variables, identity) => {
    if (!shareKey) return runWithRetry(query, variables, identity);
    let promise = shared.get(shareKey);
    if (!promise) {
      promise = runInScope(scope, query, variables, identity);
      shared.set(shareKey, promise);
      const forget = () => void setTimeout(() => shared.delete(shareKey), SHARE_MS).unref();
      promise.then(forget, forget);
    }
    return (await promise) ?? runWithRetry(query, variables, identity);
  };

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: () => {
        const schema = deps.schema();
        if (!schema) throw new Error("the supergraph is not loaded yet");
        return schema;
      },
      // A gateway busy with a burst of new sockets may take a while to read their connection_init.
      connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
      onConnect: (ctx) => {
        const socket = ctx.extra.socket;
        let identity: Identity | null = null;
        let expiresAt: number | null = null;
        try {
          const authenticated = authenticate(authorizationOf(ctx.connectionParams), config);
          identity = authenticated?.identity ?? null;
          expiresAt = authenticated?.expiresAt ?? null;
        } catch (error) {
          // Like an expiring socket: graphql-ws clients retry 4403, with a refreshed token from connectionParams.
          const reason = error instanceof GraphQLError ? error.message : "Invalid access token";
          socket.close(CLOSE_TOKEN_EXPIRED, reason.slice(0, 120));
          return false;
        }
        if (identity?.kind === "user") {
          if (perUser.count(identity.userId) >= config.maxConnectionsPerUser) {
            deps.onTooManyConnections?.("user");
            socket.close(CLOSE_TRY_AGAIN_LATER, `At most ${config.maxConnectionsPerUser} subscription connections per user`);
            return false;
          }
          const userId = identity.userId;
          perUser.add(userId);
          socket.once("close", () => perUser.remove(userId));
        }
        const connection: Connection = { identity, socket, active: new Map() };
        // Events are resolved with the identity the token carried: once the token expires (and a role it
        // granted may have been taken away since) the socket must not go on serving them. The client
        // reconnects with a fresh token, which is checked again.
        if (expiresAt !== null) {
          connection.expiry = setTimeout(
            () => {
              logger.info({ identity }, "access token expired: closing its subscription socket");
              socket.close(CLOSE_TOKEN_EXPIRED, "Access token expired; reconnect with a fresh one");
            },
            Math.max(0, expiresAt - Date.now()),
          );
          connection.expiry.unref();
        }
        connections.set(ctx.extra, connection);
        return true;
      },
      onClose: (ctx) => {
        const connection = connections.get(ctx.extra);
        connections.delete(ctx.extra);
        clearTimeout(connection?.expiry);
        for (const subscription of connection?.active.values() ?? []) subscription.close();
      },
      onSubscribe: async (ctx, id, payload) => {
        const connection = connections.get(ctx.extra);
        const schema = deps.schema();
        if (!connection || !schema) return [new GraphQLError("The gateway is starting; retry shortly.")];
        const plan = planSubscription(schema, payload.query, payload.variables, payload.operationName, config.queryLimits, deps.onTooComplex);
        if (Array.isArray(plan)) return plan as GraphQLError[];
        const ready = plan as SubscriptionPlan;
        if (!connection.identity) return [new UnauthenticatedError()];
        const refused = await deps.admit?.(connection.identity, ctx.extra.request);
        if (refused) return [refused];
        if (connection.active.size >= config.maxSubscriptionsPerConnection) {
          return [
            limitError(
              `At most ${config.maxSubscriptionsPerConnection} subscriptions per connection: complete one first, or open another connection.`,
            ),
          ];
        }
        if (total >= config.maxSubscriptions) return [limitError("This gateway is at its subscription limit; retry later.")];

        // The slot is taken before the next await so concurrent subscribes cannot overshoot the limits.
        total += 1;
        const socket = connection.socket;
        const common = {
          backlogged: () => socket.bufferedAmount > MAX_BUFFERED_BYTES,
          tooSlow: () => {
            if (socket.readyState !== socket.OPEN) return;
            logger.warn({ subscription: id, buffered: socket.bufferedAmount }, "subscriber too slow: closing its socket");
            socket.close(CLOSE_TRY_AGAIN_LATER, "Subscriber too slow; reconnect to resume");
            // A client that does not read cannot answer the close handshake either: cut it soon, not after ws's 30 s.
            setTimeout(() => socket.terminate(), SLOW_CLIENT_GRACE_MS).unref();
          },
          released: () => {
            total -= 1;
            if (connection.active.get(id) === subscription) connection.active.delete(id);
          },
        };
        const subscription: LiveSubscription =
          ready.field === "myNotifications"
            ? new NotificationSubscription(ready, connection.identity, {
                ...common,
                feed: deps.notifications,
                schema,
                operationName: payload.operationName,
              })
            : ready.field === "salesMetrics"
              ? new SalesMetricsSubscription(ready, connection.identity, {
                  ...common,
                  schema,
                  operationName: payload.operationName,
                  run: deps.run,
                  intervalMs: config.salesMetricsIntervalMs,
                  currency: config.walletCurrency,
                  currentRole,
                })
              : new OrderSubscription(ready, connection.identity, {
                  ...common,
                  feed,
                  run,
                  scopeOf: (identity, ownerId) => scopeOf(identity, ownerId, currentRole),
                  logger,
                });
        connection.active.set(id, subscription);
        const errors = await subscription.open();
        if (errors) return [...errors];
        if (socket.readyState !== socket.OPEN) {
          subscription.close();
          return [new GraphQLError("The connection closed.")];
        }
        // graphql-ws reads the operation type from the document; execution is ours (`subscribe` below).
        return { schema, document: ready.document, operationName: payload.operationName, contextValue: { subscription } };
      },
      subscribe: (args) => (args.contextValue as { subscription: LiveSubscription }).subscription.iterator(),
      // Client "complete", normal completion, or the socket closing before the stream started.
      onComplete: (ctx, id) => connections.get(ctx.extra)?.active.get(id)?.close(),
    },
    wss,
    0, // keep-alive is ours (below): graphql-ws's cuts a socket whose pong is one event-loop stall late
  );

  // One timer pings every socket; a socket that has not answered two pings in a row is dead (its
  // peer is gone or frozen) and is cut, so dead sockets cannot pile up behind a load balancer.
  const unanswered = new WeakMap<WebSocket, number>();
  wss.on("connection", (socket: WebSocket) => {
    unanswered.set(socket, 0);
    socket.on("pong", () => unanswered.set(socket, 0));
  });
  const heartbeat = setInterval(
    () => {
      for (const socket of wss.clients) {
        const missed = unanswered.get(socket) ?? 0;
        if (missed >= 2) {
          socket.terminate();
          continue;
        }
        unanswered.set(socket, missed + 1);
        if (socket.readyState === socket.OPEN) socket.ping();
      }
    },
    config.nodeEnv === "test" ? KEEP_ALIVE_TEST_MS : KEEP_ALIVE_MS,
  );
  heartbeat.unref();

  return {
    /** Number of live subscriptions on this gateway. */
    count: () => total,
    /** Number of open sockets. */
    connectionCount: () => connections.size,
    /** Closes every socket with a close code clients understand (e.g. 1012 after a schema update). */
    closeAll(code: number, reason: string) {
      for (const connection of connections.values()) connection.socket.close(code, reason);
    },
    /** Closes every socket (1001), waits briefly for clients to acknowledge, then cuts the rest. */
    async dispose() {
      clearInterval(heartbeat);
      const sockets = [...wss.clients];
      for (const socket of sockets) socket.close(CLOSE_GOING_AWAY, "Gateway shutting down");
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (sockets.some((socket) => socket.readyState !== socket.CLOSED) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const socket of sockets) if (socket.readyState !== socket.CLOSED) socket.terminate();
      await server.dispose();
    },
  };
}

/** Open sockets per key (an address, a user id). */
class Counter {
  private readonly counts = new Map<string, number>();

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.count(key) + 1);
  }

  remove(key: string): void {
    const left = this.count(key) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}

/** Sandbox sends its headers as connectionParams, so the name may come in any case. */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  for (const [name, value] of Object.entries(params ?? {})) {
    if (name.toLowerCase() === "authorization" && typeof value === "string") return value;
  }
  const headers = params?.headers;
  return headers && typeof headers === "object" ? authorizationOf(headers as Record<string, unknown>) : undefined;
}

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "RATE_LIMITED" } });
}
