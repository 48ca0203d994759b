import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Logger } from "@commerce/kit";

/**
 * The gateway on every core: `GATEWAY_WORKERS` node:cluster workers share one port; nothing a request
 * needs lives in one worker alone, and the primary replaces dead workers (docs/GATEWAY.md, "Workers").
 */
export function runPrimary(workers: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const listened = new WeakSet<Worker>();
  const fork = () => {
    const worker = cluster.fork();
    worker.once("listening", () => listened.add(worker));
    worker.on("message", (message: unknown) => {
      if (!isMetricsRequest(message)) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS, id: message.id, text }),
        (error: Error) => worker.send({ type: METRICS, id: message.id, error: error.message }),
      );
    });
  };
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (!listened.has(worker)) {
      logger.error({ code, signal }, "a gateway worker failed to start; stopping");
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM");
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    logger.error({ code, signal, pid: worker.process.pid }, "a gateway worker died; starting another");
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, "gateway primary started its workers");
}

const METRICS = "gateway:metrics";

interface MetricsRequest {
  type: typeof METRICS;
  id: number;
}

const isMetricsRequest = (message: unknown): message is MetricsRequest =>
  typeof message === "object" &&
  message !== null &&
  (message as { type?: unknown }).type === METRICS &&
  !("text" in message) &&
  !("error" in message);

/**
 * The Prometheus text of `/metrics`: this process's registry alone, or, in a cluster worker, every
 * worker's summed by the primary (gauges such as `graphql_subscriptions` count the whole gateway).
 */
export function metricsText(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  // The primary asks each worker for this registry (prom-client's cluster protocol: constructing an
  // AggregatorRegistry in a worker is what makes it answer).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on("message", (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== METRICS || message.id === undefined || !("text" in message || "error" in message)) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.text ?? "");
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send!({ type: METRICS, id } satisfies MetricsRequest);
    });
}
