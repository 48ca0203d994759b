import type { IncomingMessage, ServerResponse } from "node:http";
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { Resource } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { ApolloServerPlugin } from "@apollo/server";
import { activeTraceparent, contextFromTraceparent } from "@commerce/streams";

/**
 * OpenTelemetry tracing, set up by hand (no auto-instrumentation): one tracer provider per service,
 * exporting over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Spans: the gateway operation,
 * each subgraph operation (continued from the `traceparent` header), the outbox insert, the relay's
 * publish and each handling by a consumer (continued from the event's `traceparent`), so one order's
 * saga is one trace from `placeOrder` to its last event.
 */
export interface Tracing {
  tracer: Tracer;
  /** Whether spans go anywhere; when false the tracer is a no-op that still carries incoming trace context on. */
  enabled: boolean;
  /** Exports the spans still buffered and stops the exporters. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  service: string;
  /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Also make this the process-wide provider, so libraries' own spans (Apollo Gateway's plan and fetch) are recorded. */
  global?: boolean;
}

/** Exporters every provider created afterwards in this process also writes to (see {@link captureSpans}). */
const capturing: SpanExporter[] = [];

/**
 * Tests: records the spans of every service started afterwards in this process, synchronously on end.
 * Call it before starting the services.
 */
export function captureSpans(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  capturing.push(exporter);
  return exporter;
}

/** Shares a test exporter between providers: one service stopping must not stop the others' recording. */
function unstoppable(exporter: SpanExporter): SpanExporter {
  return { export: (spans, done) => exporter.export(spans, done), shutdown: async () => undefined, forceFlush: async () => undefined };
}

let contextManager: AsyncLocalStorageContextManager | null = null;

/**
 * The async context manager is process-wide and always on: even with tracing off it carries a caller's
 * trace context from the incoming request to the events it causes.
 */
function ensureContextManager(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  // False when another copy registered one first: that one carries the context just as well.
  context.setGlobalContextManager(contextManager);
}

/** The tracer provider of one service (a no-op tracer when no exporter is configured). */
export function createTracing({ service, endpoint, global = false }: TracingOptions): Tracing {
  ensureContextManager();
  const processors: SpanProcessor[] = capturing.map((exporter) => new SimpleSpanProcessor(unstoppable(exporter)));
  if (endpoint) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces` })));
  if (processors.length === 0) {
    return { tracer: trace.getTracer(service), enabled: false, shutdown: async () => undefined };
  }
  const provider = new BasicTracerProvider({ resource: new Resource({ "service.name": service }), spanProcessors: processors });
  if (global) trace.setGlobalTracerProvider(provider);
  return { tracer: provider.getTracer(service), enabled: true, shutdown: () => provider.shutdown() };
}

/**
 * Express middleware opening the SERVER span of one HTTP request, continued from its `traceparent`
 * header (the gateway's fetch, or a client that traces), and making it active for everything the request
 * does. The operation name is filled in by {@link tracingPlugin}. `trusted` false ignores the caller's
 * trace context (a public endpoint starts its own traces) but keeps it as a link.
 */
export function traceRequests(tracer: Tracer, { trusted = true }: { trusted?: boolean } = {}) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const header = req.headers.traceparent;
    const incoming = contextFromTraceparent(Array.isArray(header) ? header[0] : header);
    const remote = trace.getSpanContext(incoming);
    const span = tracer.startSpan(
      "graphql",
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": req.method ?? "", "url.path": req.url ?? "" },
        links: !trusted && remote ? [{ context: remote }] : [],
      },
      trusted ? incoming : undefined,
    );
    res.once("close", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    // Lets a caller find the trace of a request it made (an error report, a slow call).
    const traceId = span.spanContext().traceId;
    if (trace.isSpanContextValid(span.spanContext())) res.setHeader("x-trace-id", traceId);
    context.with(trace.setSpan(context.active(), span), next);
  };
}

/** Names the request's span after the GraphQL operation and marks it failed when the operation had errors. */
export function tracingPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName, operation }) {
          const span = trace.getActiveSpan();
          const type = operation?.operation ?? "unknown";
          span?.updateName(`graphql ${type} ${operationName ?? "anonymous"}`);
          span?.setAttributes({ "graphql.operation.type": type, "graphql.operation.name": operationName ?? "anonymous" });
        },
        async didEncounterErrors({ errors }) {
          const span = trace.getActiveSpan();
          const codes = [...new Set(errors.map(errorCode))];
          span?.setAttribute("graphql.error.codes", codes);
          // A refusal the client caused (bad input, forbidden…) is not a failure of the service.
          if (codes.includes("INTERNAL_SERVER_ERROR")) span?.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(",") });
        },
      };
    },
  };
}

/** The code a client will see: a kit error's own (see errors.ts), else the GraphQL error's, else internal. */
function errorCode(error: { extensions?: Record<string, unknown>; originalError?: unknown }): string {
  const own = (error.originalError as { code?: unknown } | undefined)?.code;
  if (typeof own === "string") return own;
  return typeof error.extensions?.code === "string" ? error.extensions.code : "INTERNAL_SERVER_ERROR";
}

/** The id of the trace in progress, for log lines (undefined outside a recorded trace). */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** Headers carrying the active trace context to another service (the gateway's subgraph calls). */
export function traceHeaders(): Record<string, string> {
  const traceparent = activeTraceparent();
  return traceparent ? { traceparent } : {};
}
