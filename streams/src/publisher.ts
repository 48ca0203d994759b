import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { streamKey } from "./keys";
import { execDurably, groupBySlot, type Durability, type RedisClient } from "./redis-client";
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
 * XADDs `entries` in order (no `MAXLEN`: trimming is separate and group-aware), in one pipeline per
 * cluster slot (one on a single Redis), each followed by `WAIT replicaAcks` on the same node; with a
 * producer span per event in the trace of the request or handler that created it. Rejects unless
 * every XADD succeeded and reached its replicas.
 */
export async function xaddEntries(
  redis: RedisClient,
  prefix: string,
  entries: readonly OutboxEntry[],
  tracer: Tracer = defaultStreamsTracer(),
  durability: Durability = { replicaAcks: 0, replicaAckTimeoutMs: 0 },
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
  const publish = async (group: OutboxEntry[]): Promise<void> => {
    const pipeline = redis.pipeline();
    for (const entry of group) {
      pipeline.xadd(streamKey(prefix, entry.stream), "*", "id", entry.eventId, "type", entry.type, "envelope", entry.envelope);
    }
    // WAIT is keyless, so it goes to the node of the XADDs before it and waits for their replication.
    await execDurably(redis, pipeline, durability);
  };
  try {
    const outcomes = await Promise.allSettled(groupBySlot(redis, entries, (entry) => streamKey(prefix, entry.stream)).map(publish));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (failed) throw failed.reason;
  } catch (error) {
    for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}
