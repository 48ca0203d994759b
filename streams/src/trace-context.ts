import { ROOT_CONTEXT, SpanStatusCode, context, trace, TraceFlags, type Context, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";

/**
 * W3C trace context across the streams: an event carries the `traceparent` of the span that created it,
 * and the consumer continues that trace, so one order's saga is one trace across every service.
 * Only `@opentelemetry/api` is used here: without a registered tracer provider every span is a no-op,
 * yet trace context received from a caller still flows through events.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The tracer of the streams package when the caller gives none (the process-wide provider, or no-op). */
export const defaultStreamsTracer = (): Tracer => trace.getTracer("@commerce/streams");

/** The `traceparent` of the span active in `ctx` (the current one by default), if any. */
export function activeTraceparent(ctx: Context = context.active()): string | undefined {
  const span = trace.getSpan(ctx);
  const spanContext = span?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0");
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * A context whose parent is the remote span named by `traceparent`; the root context when it is missing
 * or malformed (a bad header starts a new trace rather than failing the request or the event).
 */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (!match) return base;
  const spanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
  if (!trace.isSpanContextValid(spanContext)) return base;
  return trace.setSpanContext(base, spanContext);
}

/**
 * Runs `work` in a new active span (child of `parent`, the active context by default) and ends it;
 * a throw marks the span as failed and is rethrown.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
