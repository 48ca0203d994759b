/**
 * One consumer replica of the streams benchmark, in its own process as in a deployment (started by
 * streams.bench.ts with `fork`, never on its own). It applies `order.placed` by inserting a row into
 * `bench_effect` and reports each applied event's id with the wall-clock time of its commit + ack.
 *
 * Parent → child: the replica's settings in `BENCH_REPLICA` (JSON), then `{ stop: true }`.
 * Child → parent: `{ ready }`, `{ applied: [[eventId, epochMs, xaddEpochMs], …] }` every 20 ms, and at the end
 * `{ stats, cpuMicros }`.
 */
import { performance } from "node:perf_hooks";
import pino from "pino";
import { createRedis, openStreamsOrm, StreamConsumer, type Handler } from "@commerce/streams";

interface ReplicaSettings {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  name: string;
  concurrency: number;
  maxBatch: number;
}

const settings = JSON.parse(process.env.BENCH_REPLICA ?? "{}") as ReplicaSettings;
const send = (message: unknown) => process.send?.(message);
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const orm = await openStreamsOrm(settings.databaseUrl, 16);
  const redis = createRedis(settings.redisUrl);
  /** [event id, when its transaction committed and its entry was acknowledged, when Redis added its entry] */
  let applied: [string, number, number][] = [];
  const handler: Handler = async (event, { em }) => {
    await em.execute("insert into bench_effect (event_id, order_id) values (?, ?)", [event.id, event.correlationId]);
  };
  const consumer = new StreamConsumer({
    redis,
    orm,
    prefix: settings.prefix,
    service: "bench",
    consumerName: settings.name,
    streams: ["order"],
    handlers: { "order.placed": handler },
    logger: pino({ level: "warn" }),
    concurrency: settings.concurrency,
    maxBatch: settings.maxBatch,
    onProcessed: (event, _ms, { entryId }) => void applied.push([event.id, now(), Number(entryId.split("-")[0])]),
  });
  const flusher = setInterval(() => {
    if (applied.length === 0) return;
    send({ applied });
    applied = [];
  }, 20);
  const cpu = process.cpuUsage();
  process.on("message", async (message: { stop?: boolean }) => {
    if (!message.stop) return;
    await consumer.stop();
    clearInterval(flusher);
    if (applied.length > 0) send({ applied });
    const used = process.cpuUsage(cpu);
    send({ stats: consumer.stats(), cpuMicros: used.user + used.system });
    await orm.close();
    redis.disconnect();
    process.disconnect();
  });
  await consumer.start();
  send({ ready: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
