import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type Redis from "ioredis";
import { streamKey } from "./keys";
import { contextFromTraceparent, defaultStreamsTracer } from "./trace-context";

/** One outbox row, as the relay publishes it. */
export interface OutboxEntry {
  /** The outbox row's id (bigint as text). */
  id: string;
  eventId: string;
  type: string;
  /** The producer stream (`order`, `product`…). */
  stream: string;
  /** The envelope, as JSON. */
  envelope: string;
  traceparent: string | null;
}

/**
 * XADDs `entries` in one pipeline, in order (no `MAXLEN`: trimming is separate and group-aware), with a
 * producer span per event in the trace of the request or handler that created it. Rejects unless
 * every XADD succeeded.
 */
export async function xaddEntries(
  redis: Redis,
  prefix: string,
  entries: readonly OutboxEntry[],
  tracer: Tracer = defaultStreamsTracer(),
): Promise<void> {
  const spans = entries.flatMap((entry) =>
    entry.traceparent
      ? [
          tracer.startSpan(
            `publish ${entry.type}`,
            {
              kind: SpanKind.PRODUCER,
              attributes: {
                "messaging.system": "redis",
                "messaging.operation.type": "publish",
                "messaging.destination.name": streamKey(prefix, entry.stream),
                "messaging.message.id": entry.eventId,
                "messaging.batch.message_count": entries.length,
              },
            },
            contextFromTraceparent(entry.traceparent),
          ),
        ]
      : [],
  );
  const pipeline = redis.pipeline();
  for (const entry of entries) {
    pipeline.xadd(streamKey(prefix, entry.stream), "*", "id", entry.eventId, "type", entry.type, "envelope", entry.envelope);
  }
  try {
    const results = (await pipeline.exec()) ?? [];
    const failure = results.find(([error]) => error);
    if (failure || results.length !== entries.length) throw failure?.[0] ?? new Error("XADD pipeline returned no results");
  } catch (error) {
    for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}
