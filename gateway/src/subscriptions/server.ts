import type { Server } from "node:http";
import { GraphQLError, parse, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { UnauthenticatedError, type Identity, isStaff } from "@commerce/kit";
import { identityFromAuthorization } from "../identity";
import type { GatewayConfig } from "../config";
import type { OrderEventFeed, StatusChange } from "./order-events";
import { HIDDEN_HISTORY, HIDDEN_OWNER, HIDDEN_STATUS, ORDER_ID_VARIABLE, planSubscription, type SubscriptionPlan } from "./plan";
import { BoundedQueue } from "./queue";

const TERMINAL = new Set(["COMPLETED", "CANCELLED", "OUT_OF_STOCK", "PAYMENT_FAILED"]);
/** Status changes buffered per subscription before the client is judged too slow. */
const QUEUE_CAPACITY = 64;
/** Bytes a socket may have unsent before it is closed as a slow consumer. */
const MAX_BUFFERED_BYTES = 1 << 20;

export type RunQuery = (query: string, variables: Record<string, unknown>, identity: Identity | null) => Promise<ExecutionResult | { data?: unknown; errors?: readonly GraphQLFormattedError[] }>;

export interface SubscriptionDeps {
  httpServer: Server;
  config: GatewayConfig;
  logger: Logger;
  feed: OrderEventFeed;
  schema: () => GraphQLSchema | null;
  run: RunQuery;
  isOriginAllowed: (origin: string | undefined) => boolean;
}

interface Connection {
  identity: Identity | null;
  subscriptions: number;
  socket: WebSocket;
}

interface Prepared {
  plan: SubscriptionPlan;
  connection: Connection;
  queue: BoundedQueue<StatusChange>;
  unlisten: () => void;
  initial: Record<string, unknown> | null;
}

type OrderData = Record<string, unknown> & { [HIDDEN_STATUS]?: string; [HIDDEN_HISTORY]?: { at: string }[]; [HIDDEN_OWNER]?: { id: string } };

/**
 * Serves `Subscription.orderStatusChanged` and `myOrderUpdates` over graphql-ws
 * on the gateway's `/graphql` path. Apollo Gateway cannot execute
 * subscriptions, so each status change read from Redis is turned into a query
 * of `order(id)` through the supergraph with the subscriber's identity: the
 * event carries whatever fields of any subgraph the client selected.
 */
export function attachSubscriptions(deps: SubscriptionDeps) {
  const { config, logger, feed } = deps;
  const connections = new Map<object, Connection>();
  const prepared = new Map<string, Prepared>();
  let total = 0;
  let sequence = 0;

  const wss = new WebSocketServer({
    server: deps.httpServer,
    path: "/graphql",
    maxPayload: 64 * 1024,
    verifyClient: ({ origin }: { origin?: string }) => deps.isOriginAllowed(origin),
  });

  // Subscribers with the same identity, query and event share one execution.
  const shared = new Map<string, Promise<Awaited<ReturnType<RunQuery>>>>();
  const runShared = (key: string, query: string, variables: Record<string, unknown>, identity: Identity | null) => {
    let promise = shared.get(key);
    if (!promise) {
      promise = deps.run(query, variables, identity);
      shared.set(key, promise);
      setTimeout(() => shared.delete(key), 2000).unref();
    }
    return promise;
  };
  const identityKey = (identity: Identity | null) => (identity?.kind === "user" ? identity.userId : identity?.kind ?? "anonymous");

  const toErrors = (errors: readonly GraphQLFormattedError[]) =>
    errors.map((error) => new GraphQLError(error.message, { path: error.path, extensions: error.extensions }));

  const shape = (plan: SubscriptionPlan, order: OrderData, status?: string): Record<string, unknown> => {
    const { [HIDDEN_STATUS]: _status, [HIDDEN_HISTORY]: _history, [HIDDEN_OWNER]: _owner, ...visible } = order;
    if (status) for (const key of plan.statusKeys) visible[key] = status;
    return { [plan.responseKey]: visible };
  };
  // `status` and `statusHistory` are read by separate statements, so the history may already hold a
  // change the status does not show yet: the snapshot is as of the last entry with the snapshot's status.
  const lastChangeAt = (order: OrderData) => {
    const history = (order[HIDDEN_HISTORY] ?? []) as { at: string; status?: string }[];
    for (let index = history.length - 1; index >= 0; index -= 1) {
      if (history[index].status === order[HIDDEN_STATUS]) return Date.parse(history[index].at);
    }
    return 0;
  };

  const server = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
    {
      schema: () => {
        const schema = deps.schema();
        if (!schema) throw new Error("the supergraph is not loaded yet");
        return schema;
      },
      onConnect: (ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = (params.authorization ?? params.Authorization) as string | undefined;
        try {
          const identity = identityFromAuthorization(authorization, config);
          connections.set(ctx.extra, { identity, subscriptions: 0, socket: ctx.extra.socket });
          return true;
        } catch {
          return false; // 4403 Forbidden: the token does not verify
        }
      },
      onClose: (ctx) => void connections.delete(ctx.extra),
      onSubscribe: async (ctx, id, payload) => {
        const connection = connections.get(ctx.extra);
        const schema = deps.schema();
        if (!connection || !schema) return [new GraphQLError("The connection is not ready.")];
        if (connection.subscriptions >= config.maxSubscriptionsPerConnection) {
          return [new GraphQLError(`At most ${config.maxSubscriptionsPerConnection} subscriptions per connection.`, { extensions: { code: "RATE_LIMITED" } })];
        }
        if (total >= config.maxSubscriptions) {
          return [new GraphQLError("This gateway is at its subscription limit; retry later.", { extensions: { code: "RATE_LIMITED" } })];
        }
        const plan = planSubscription(schema, payload.query, payload.variables, payload.operationName);
        if (Array.isArray(plan)) return plan;
        const ready = plan as SubscriptionPlan;
        if (ready.field === "myOrderUpdates" && connection.identity?.kind !== "user") return [new UnauthenticatedError()];

        const queue = new BoundedQueue<StatusChange>(QUEUE_CAPACITY);
        const overflow = () => {
          logger.warn({ subscription: id }, "subscriber too slow: closing its socket");
          connection.socket.close(1013, "Subscriber too slow; reconnect to resume");
        };
        const enqueue = (event: StatusChange) => {
          if (!queue.push(event) || connection.socket.bufferedAmount > MAX_BUFFERED_BYTES) overflow();
        };
        // Listen before reading the current state so no change falls between the two.
        const unlisten =
          ready.field === "orderStatusChanged"
            ? feed.onOrder(ready.orderId as string, enqueue)
            : feed.onAny((event) => {
                const identity = connection.identity;
                if (isStaff(identity) || (identity?.kind === "user" && identity.userId === event.payload.userId)) enqueue(event);
              });

        let initial: Record<string, unknown> | null = null;
        if (ready.field === "orderStatusChanged") {
          const result = await deps.run(ready.query, ready.variables, connection.identity);
          const order = (result.data as Record<string, OrderData | null> | undefined)?.[ready.responseKey];
          if (result.errors?.length || !order) {
            unlisten();
            queue.close();
            if (result.errors?.length) return toErrors(result.errors);
            return [new GraphQLError(`Order ${ready.orderId} was not found.`, { extensions: { code: "NOT_FOUND" } })];
          }
          initial = order;
        }
        connection.subscriptions += 1;
        total += 1;
        const key = String(++sequence);
        prepared.set(key, { plan: ready, connection, queue, unlisten, initial });
        // graphql-ws reads the operation type from the document; execution itself is ours (`subscribe` below).
        return { schema, document: parse(payload.query), operationName: payload.operationName, contextValue: { key } };
      },
      subscribe: (args) => {
        const key = (args.contextValue as { key: string }).key;
        const state = prepared.get(key);
        prepared.delete(key);
        if (!state) return { errors: [new GraphQLError("Subscription state lost; resubscribe.")] };
        return stream(state);
      },
    },
    wss,
    config.nodeEnv === "test" ? 2_000 : 12_000,
  );

  async function* stream(state: Prepared): AsyncGenerator<ExecutionResult> {
    const { plan, connection, queue } = state;
    const identity = connection.identity;
    try {
      let lastAt = 0;
      if (state.initial) {
        const order = state.initial as OrderData;
        lastAt = lastChangeAt(order);
        yield { data: shape(plan, order) };
        if (TERMINAL.has(order[HIDDEN_STATUS] ?? "")) return;
      }
      for (;;) {
        const event = await queue.next();
        if (!event) return;
        const at = Date.parse(event.payload.at);
        // Already reflected in what this subscriber has seen (the initial state, or a redelivery).
        if (plan.field === "orderStatusChanged" && at <= lastAt) continue;
        lastAt = Math.max(lastAt, at);
        const variables = plan.field === "myOrderUpdates" ? { ...plan.variables, [ORDER_ID_VARIABLE]: event.payload.orderId } : plan.variables;
        const result = await runShared(`${event.id}|${identityKey(identity)}|${plan.query}|${JSON.stringify(variables)}`, plan.query, variables, identity);
        const order = (result.data as Record<string, OrderData | null> | undefined)?.[plan.responseKey];
        if (order) yield { data: shape(plan, order, event.payload.status), errors: result.errors ? toErrors(result.errors) : undefined };
        else if (result.errors?.length) yield { data: null, errors: toErrors(result.errors) };
        if (plan.field === "orderStatusChanged" && TERMINAL.has(event.payload.status)) return;
      }
    } finally {
      state.unlisten();
      queue.close();
      connection.subscriptions -= 1;
      total -= 1;
    }
  }

  return {
    /** Number of live subscriptions on this gateway. */
    count: () => total,
    /** Closes every socket with a close code clients understand (e.g. 1012 after a schema update). */
    closeAll(code: number, reason: string) {
      for (const connection of connections.values()) connection.socket.close(code, reason);
    },
    async dispose() {
      for (const connection of connections.values()) connection.socket.close(1001, "Gateway shutting down");
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
