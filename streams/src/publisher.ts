import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { streamKey } from "./keys";
import { followRedirection, groupBySlot, NotReplicatedError, type RedisClient } from "./redis-client";
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

/** How {@link xaddEntries} makes its writes durable. */
export interface Durability {
  /** Replicas each XADD must reach (`WAIT`) before it counts as published; 0 skips WAIT. */
  replicaAcks: number;
  /** How long WAIT waits for them. */
  replicaAckTimeoutMs: number;
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
  const { replicaAcks, replicaAckTimeoutMs } = durability;
  const publish = async (group: OutboxEntry[]): Promise<void> => {
    const pipeline = redis.pipeline();
    for (const entry of group) {
      pipeline.xadd(streamKey(prefix, entry.stream), "*", "id", entry.eventId, "type", entry.type, "envelope", entry.envelope);
    }
    // Keyless, so it goes to the node of the XADDs before it and waits for their replication.
    if (replicaAcks > 0) pipeline.wait(replicaAcks, replicaAckTimeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const failure = results.find(([error]) => error);
    const expected = group.length + (replicaAcks > 0 ? 1 : 0);
    if (failure) followRedirection(redis, failure[0]);
    if (failure || results.length !== expected) throw failure?.[0] ?? new Error("XADD pipeline returned no results");
    if (replicaAcks > 0) {
      const acked = Number(results[results.length - 1]![1]);
      if (acked < replicaAcks) throw new NotReplicatedError(acked, replicaAcks);
    }
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
