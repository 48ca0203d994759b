import type { IncomingMessage, Server } from "node:http";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { UnauthenticatedError, type Identity } from "@commerce/kit";
import { authenticate } from "../identity";
import type { GatewayConfig } from "../config";
import { NotificationSubscription } from "./notification-subscription";
import type { NotificationFeed, OrderEventFeed } from "./order-events";
import { planSubscription, type SubscriptionPlan } from "./plan";
import { OrderSubscription, type QueryResult } from "./subscription";

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
  /** `host` is the upgrade request's Host header (same-origin behind any hostname). */
  isOriginAllowed: (origin: string | undefined) => boolean;
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
  /** Why the token was refused, answered to every subscription of this connection. */
  authError: GraphQLError | null;
  socket: WebSocket;
  active: Map<string, OrderSubscription | NotificationSubscription>;
  /** Closes the socket when its access token expires. */
  expiry?: NodeJS.Timeout;
}

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
};

/**
 * Serves `Subscription.orderStatusChanged` and `myOrderUpdates` over
 * graphql-ws on the gateway's `/graphql` path (what Apollo Sandbox and Apollo
 * Client use). Apollo Gateway cannot execute subscriptions, so each status
 * change read from Redis is re-resolved as `order(id)` through the supergraph
 * with the subscriber's identity: the event carries whatever fields of any
 * subgraph the client selected. Every replica reads every change, so a
 * subscriber sees changes whichever replica or subgraph made them.
 *
 * Defences: the HTTP rate limit (each `subscribe` counts as an operation of its
 * user and address), per-connection and per-gateway subscription limits, a bounded
 * queue per subscription and a cap on each socket's unsent bytes (a slow
 * client is closed with 1013 instead of growing memory), keep-alive pings
 * (a client that stops answering is cut), the Origin check on upgrade, and
 * no socket outlives the access token it was opened with (closed with 4403).
 */
export function attachSubscriptions(deps: SubscriptionDeps) {
  const { config, logger, feed } = deps;
  const connections = new Map<Extra, Connection>();
  let total = 0;

  const wss = new WebSocketServer({
    server: deps.httpServer,
    path: "/graphql",
    maxPayload: 64 * 1024,
    // Browsers send Origin on WebSocket upgrades, and CSRF prevention does not cover them.
    verifyClient: ({ origin }: { origin?: string }) => deps.isOriginAllowed(origin),
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

  const shared = new Map<string, Promise<QueryResult>>();
  const run = (shareKey: string | null, query: string, variables: Record<string, unknown>, identity: Identity) => {
    if (!shareKey) return runWithRetry(query, variables, identity);
    let promise = shared.get(shareKey);
    if (!promise) {
      promise = runWithRetry(query, variables, identity);
      shared.set(shareKey, promise);
      const forget = () => void setTimeout(() => shared.delete(shareKey), SHARE_MS).unref();
      promise.then(forget, forget);
    }
    return promise;
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
        let identity: Identity | null = null;
        let authError: GraphQLError | null = null;
        let expiresAt: number | null = null;
        try {
          const authenticated = authenticate(authorizationOf(ctx.connectionParams), config);
          identity = authenticated?.identity ?? null;
          expiresAt = authenticated?.expiresAt ?? null;
        } catch (error) {
          // Kept, not a 4403 close: the client learns UNAUTHENTICATED with the reason, as over HTTP.
          authError = new UnauthenticatedError(error instanceof GraphQLError ? error.message : undefined);
        }
        const socket = ctx.extra.socket;
        const connection: Connection = { identity, authError, socket, active: new Map() };
        // Events are resolved with the identity the token carried: once the token expires (and a role it
        // granted may have been taken away since) the socket must not go on serving them. The client
        // reconnects with a fresh token, which is checked again.
        if (expiresAt !== null) {
          connection.expiry = setTimeout(() => {
            logger.info({ identity }, "access token expired: closing its subscription socket");
            socket.close(CLOSE_TOKEN_EXPIRED, "Access token expired; reconnect with a fresh one");
          }, Math.max(0, expiresAt - Date.now()));
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
        if (connection.authError) return [connection.authError];
        const plan = planSubscription(schema, payload.query, payload.variables, payload.operationName, config.queryLimits, deps.onTooComplex);
        if (Array.isArray(plan)) return plan as GraphQLError[];
        const ready = plan as SubscriptionPlan;
        if (!connection.identity) return [new UnauthenticatedError()];
        const refused = await deps.admit?.(connection.identity, ctx.extra.request);
        if (refused) return [refused];
        if (connection.active.size >= config.maxSubscriptionsPerConnection) {
          return [limitError(`At most ${config.maxSubscriptionsPerConnection} subscriptions per connection: complete one first, or open another connection.`)];
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
        const subscription: OrderSubscription | NotificationSubscription =
          ready.field === "myNotifications"
            ? new NotificationSubscription(ready, connection.identity, { ...common, feed: deps.notifications, schema, operationName: payload.operationName })
            : new OrderSubscription(ready, connection.identity, { ...common, feed, run, logger });
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
      subscribe: (args) => (args.contextValue as { subscription: OrderSubscription | NotificationSubscription }).subscription.iterator(),
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
  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      const missed = unanswered.get(socket) ?? 0;
      if (missed >= 2) {
        socket.terminate();
        continue;
      }
      unanswered.set(socket, missed + 1);
      if (socket.readyState === socket.OPEN) socket.ping();
    }
  }, config.nodeEnv === "test" ? KEEP_ALIVE_TEST_MS : KEEP_ALIVE_MS);
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
