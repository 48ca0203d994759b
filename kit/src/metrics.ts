import { createHash, timingSafeEqual } from "node:crypto";
import type { ApolloServerPlugin } from "@apollo/server";
import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from "prom-client";
import { breakerStates } from "./circuit";

/** One Prometheus registry per process, labelled with the service, served on `/metrics`. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "circuit_breaker_state",
    help: "Circuit breaker of calls from this process to another, by target: 0 closed, 1 open (failing fast), 2 half-open",
    labelNames: ["target"],
    registers: [registry],
    // Gateway workers each keep their own breakers: the worst state shows across them.
    aggregator: "max",
    collect(this: Gauge) {
      for (const { target, state } of breakerStates()) this.set({ target }, state);
    },
  });
  return {
    registry,
    graphqlRequests: new Counter({
      name: "graphql_operations_total",
      help: "GraphQL operations by name, type and outcome",
      labelNames: ["operation", "type", "outcome"],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: "graphql_operation_duration_seconds",
      help: "GraphQL operation latency",
      labelNames: ["operation", "type"],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    dbQueries: new Counter({ name: "db_queries_total", help: "SQL statements sent to the database", registers: [registry] }),
    dbStatementsByOperation: new Counter({
      name: "graphql_operation_db_statements_total",
      help: "SQL statements caused by GraphQL requests, by operation (batching regressions show here)",
      labelNames: ["operation"],
      registers: [registry],
    }),
    /** A gauge; `collect` (optional) sets its value at scrape time. */
    gauge: (name: string, help: string, labelNames: string[] = [], collect?: (gauge: Gauge) => void | Promise<void>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        ...(collect
          ? {
              collect(this: Gauge) {
                return collect(this);
              },
            }
          : {}),
      }),
    counter: (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] }),
    /**
     * A counter whose value is read at scrape time from a running total kept elsewhere (a component's
     * `stats()`), so hot paths need no metric calls. `read` must never decrease.
     */
    counterFrom: (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect(this: Counter) {
          this.reset();
          this.inc(read());
        },
      }),
    histogram: (name: string, help: string, labelNames: string[] = [], buckets?: number[]) =>
      new Histogram({ name, help, labelNames, buckets, registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Apollo plugin: counts each GraphQL operation by name, type and outcome and times it.
 * `afterResponse` runs with the operation's name once the response is ready.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function graphqlMetricsPlugin<TContext extends Record<string, any>>(
  metrics: Metrics,
  afterResponse?: (operation: string) => void,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          const labels = { operation: operationName ?? "anonymous", type: operation?.operation ?? "unknown" };
          metrics.graphqlRequests.inc({ ...labels, outcome: errors?.length ? "error" : "ok" });
          metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          afterResponse?.(labels.operation);
        },
      };
    },
  };
}

/** The metrics of the service owning an ORM, keyed by its configuration (shared by all its EntityManagers). */
const byOrmConfig = new WeakMap<object, Metrics>();

/** Binds a service's metrics to its ORM, so domain code holding only an EntityManager can count (see {@link metricsOf}). */
export function bindMetrics(orm: { config: object }, metrics: Metrics): void {
  byOrmConfig.set(orm.config, metrics);
}

/** The metrics of the service whose ORM `em` belongs to, if it was started by the kit. */
export function metricsOf(em: { config: object }): Metrics | undefined {
  return byOrmConfig.get(em.config);
}

/**
 * Who may scrape `/metrics`: with `METRICS_TOKEN` set, a caller sending `Authorization: Bearer
 * <token>`; without it, a caller on this machine (loopback, not relayed by a proxy) only. Metrics
 * name internal operations, error rates and traffic: not for whoever can reach the port.
 */
export function metricsAccess(
  token: string | undefined,
): (req: { headers: Record<string, string | string[] | undefined>; socket: { remoteAddress?: string } }) => boolean {
  const expected = token ? createHash("sha256").update(`Bearer ${token}`).digest() : null;
  return (req) => {
    if (expected) {
      const given = createHash("sha256")
        .update(String(req.headers.authorization ?? ""))
        .digest();
      return timingSafeEqual(given, expected);
    }
    const address = req.socket.remoteAddress ?? "";
    const loopback = address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
    return loopback && req.headers["x-forwarded-for"] === undefined && req.headers.forwarded === undefined;
  };
}
