import type { Counter, Gauge } from "prom-client";
import type { EntityManager } from "@mikro-orm/postgresql";
import { dlqKey, groupBySlot, replayKey, streamKey, type OutboxRelay, type RedisClient, type StreamConsumer } from "@commerce/streams";
import type { ParsedEvent, Producer } from "@commerce/schema";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { Orm } from "./orm";

/** What {@link registerStreamMetrics} reads at scrape time. */
export interface StreamMetricsSources {
  metrics: Metrics;
  redis: RedisClient;
  orm: Orm;
  prefix: string;
  /** The consuming service: its consumer group on every stream, and its dead-letter stream. */
  service: string;
  /** Streams this service consumes (empty when it consumes none). */
  streams: readonly Producer[];
  consumer: StreamConsumer | null;
  relay: OutboxRelay;
  logger: Logger;
  /** Bound on each scrape-time query, so a scrape never hangs on a sick Redis or Postgres. Default 1 s. */
  timeoutMs?: number;
}

/**
 * The event backbone's Prometheus metrics, read when Prometheus scrapes; only the handler latency
 * histogram is fed from the hot path (docs/KIT.md, "Stream metrics", lists them).
 * @returns the `onProcessed` callback to give the consumer (it feeds the latency histogram).
 */
export function registerStreamMetrics(sources: StreamMetricsSources): (event: ParsedEvent, handlerMs: number) => void {
  const { metrics, redis, orm, prefix, service, streams, consumer, relay, logger } = sources;
  const timeoutMs = sources.timeoutMs ?? 1_000;
  const keys = [...streams.map((producer) => ({ stream: producer as string, key: streamKey(prefix, producer) }))];
  if (consumer) keys.push({ stream: "replay", key: replayKey(prefix, service) });

  /** Runs one scrape-time read; on failure or timeout the metric is left empty rather than stale. */
  const scrape = async (metric: Gauge | Counter, read: () => Promise<void>): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        read(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } catch (error) {
      metric.reset();
      logger.warn({ err: error, metric: (metric as unknown as { name: string }).name }, "metric not collected");
    } finally {
      clearTimeout(timer);
    }
  };

  if (consumer) {
    metrics.gauge("stream_consumer_lag", "Entries of the stream not yet delivered to the consumer group", ["stream", "group"], (gauge) =>
      scrape(gauge, async () => {
        const lags = await Promise.all(keys.map(({ key }) => groupLag(redis, key, service)));
        gauge.reset();
        keys.forEach(({ stream }, i) => {
          const lag = lags[i];
          if (lag !== null && lag !== undefined) gauge.set({ stream, group: service }, lag);
        });
      }),
    );
    metrics.gauge("stream_pending", "Entries delivered to the consumer group and not yet acknowledged", ["stream", "group"], (gauge) =>
      scrape(gauge, async () => {
        // One pipeline per cluster slot (one on a single Redis).
        const groups = groupBySlot(redis, keys, ({ key }) => key);
        const replies = await Promise.all(
          groups.map(async (group) => {
            const pipeline = redis.pipeline();
            for (const { key } of group) pipeline.xpending(key, service);
            return (await pipeline.exec()) ?? [];
          }),
        );
        gauge.reset();
        groups.forEach((group, g) =>
          group.forEach(({ stream }, i) => {
            const [error, summary] = replies[g]![i] ?? [];
            // A stream or group not created yet has nothing pending.
            gauge.set({ stream, group: service }, error ? 0 : Number((summary as [number] | null)?.[0] ?? 0));
          }),
        );
      }),
    );
    metrics.gauge("stream_dead_letters", "Entries in this service's dead-letter stream (see npm run dlq)", [], (gauge) =>
      scrape(gauge, async () => gauge.set(await redis.xlen(dlqKey(prefix, service)))),
    );
    const counters = {
      processed: "Events whose handler committed",
      duplicates: "Deliveries of events this group had already applied (no-ops)",
      skipped: "Events of a type this service has no handler for",
      failed: "Handler attempts that threw (each is retried, then dead-lettered)",
      deadLettered: "Entries moved to the dead-letter stream",
    } as const;
    for (const [field, help] of Object.entries(counters) as [keyof typeof counters, string][]) {
      const name = `stream_consumer_${field === "deadLettered" ? "dead_lettered" : field}_total`;
      // Counters read from the consumer's own totals at scrape time: the hot path stays free of metric calls.
      metrics.counterFrom(name, help, () => consumer.stats()[field]);
    }
    metrics.gauge("stream_consumer_in_flight", "Messages being handled, queued behind their order, or waiting to retry", [], (gauge) =>
      gauge.set(consumer.stats().inFlight),
    );
  }

  metrics.gauge("outbox_slot_lag_bytes", "WAL the outbox relay's replication slot keeps: written since its last confirmed publication", [], (gauge) =>
    scrape(gauge, async () => {
      const em = orm.em.fork() as EntityManager;
      const [row] = await em.execute<{ lag: string | null }[]>(
        "select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint::text as lag from pg_replication_slots where slot_name = ?",
        [relay.slotName],
      );
      gauge.reset();
      // No slot yet (before the relay's first start): no series, which the alert treats as absent.
      if (row) gauge.set(Number(row.lag ?? 0));
    }),
  );
  metrics.gauge("outbox_relay_leader", "1 while this process's relay streams from the slot (one replica per database does)", [], (gauge) =>
    gauge.set(relay.stats().leader ? 1 : 0),
  );
  metrics.counterFrom("outbox_published_total", "Outbox rows this process's relay published", () => relay.stats().published);
  metrics.counterFrom(
    "outbox_relay_failures_total",
    "Relay sessions that failed (Redis or Postgres down) and were retried",
    () => relay.stats().failures,
  );

  const latency = metrics.histogram(
    "stream_handler_duration_seconds",
    "Time from the handler's transaction start to its commit, by event type",
    ["type"],
    [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  return (event, handlerMs) => latency.observe({ type: event.type }, handlerMs / 1000);
}

/**
 * Entries of `key` the group has not been delivered yet: XINFO GROUPS `lag` (Redis 7); when Redis
 * cannot tell (after XDEL or trimming past the group), entries-added minus the group's entries-read;
 * null when the stream or group does not exist yet or neither is known.
 */
async function groupLag(redis: RedisClient, key: string, group: string): Promise<number | null> {
  let groups: unknown[][];
  try {
    groups = (await redis.call("XINFO", "GROUPS", key)) as unknown[][];
  } catch {
    return null; // no such stream yet
  }
  const info = groups.map(pairs).find((g) => g.name === group);
  if (!info) return null;
  if (info.lag !== null && info.lag !== undefined) return Number(info.lag);
  if (info["entries-read"] === null || info["entries-read"] === undefined) return null;
  const stream = pairs((await redis.call("XINFO", "STREAM", key)) as unknown[]);
  const added = stream["entries-added"];
  return added === null || added === undefined ? null : Math.max(0, Number(added) - Number(info["entries-read"]));
}

/** `[field, value, field, value…]` as an object. */
function pairs(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}
