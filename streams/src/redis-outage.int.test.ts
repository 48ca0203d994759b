import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { StreamConsumer } from "./consumer";
import { OutboxRelay } from "./relay";
import { freePort } from "@commerce/testing";
import { effects, eventually, placed, produce, recordingLogger, seqOf, silentLogger, useStreamsSuite } from "./testing/harness";

/** A Redis of our own (the shared one serves other suites): AOF with fsync always, so a restart keeps every write. */
class OwnRedis {
  private child: ChildProcess | null = null;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "streams-redis-"));
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const bin = process.env.TEST_REDIS_BIN ?? "redis-server";
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
    ];
    this.child = spawn(bin, args, { stdio: "ignore" });
    await eventually("redis to accept connections", async () => {
      const probe = new Redis(this.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === "PONG";
      } finally {
        probe.disconnect();
      }
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM"); // Redis flushes the AOF and exits
    await exited;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const suite = useStreamsSuite("outage", { poolMax: 12 });

it("loses and reorders nothing while Redis restarts during production", async () => {
  const producers = { running: true };
  const server = new OwnRedis(await freePort());
  await server.start();
  const redis = new Redis(server.port, "127.0.0.1");
  redis.on("error", () => undefined);
  const { logger, records } = recordingLogger();
  const relay = new OutboxRelay({ orm: suite.orm, redis, prefix: suite.prefix, logger, maxBackoffMs: 200 });
  const consumer = new StreamConsumer({
    redis,
    orm: suite.orm,
    prefix: suite.prefix,
    service: "svc",
    consumerName: "c1",
    streams: ["order"],
    logger: silentLogger(),
    blockMs: 200,
    claimIdleMs: 1_000,
    claimIntervalMs: 200,
    handlers: {
      "order.placed": async (event, { em }) => {
        await em.execute("insert into effect (event_id, correlation_id, seq) values (?, ?, ?)", [event.id, event.correlationId, seqOf(event)]);
      },
    },
  });
  try {
    await relay.start();
    await consumer.start();
    const orders = Array.from({ length: 10 }, (_, i) => `order-${i}`);
    // Producers run until the outage is over, not for a fixed count: on a fast machine a fixed count
    // could all be committed before Redis stops, leaving nothing produced during the outage.
    const perOrder = new Map<string, number>();
    let produced = 0;
    const producing = Promise.all(
      orders.map(async (orderId) => {
        for (let seq = 1; producers.running; seq += 1) {
          await produce(suite.orm, [placed(orderId, seq)]);
          perOrder.set(orderId, seq);
          produced += 1;
          await new Promise((r) => setTimeout(r, 2));
        }
      }),
    );

    await eventually("some events through", async () => (await effects(suite.orm)).length >= 50);
    await server.stop();
    const producedAtStop = produced;
    await eventually("the relay to notice the outage", () => relay.stats().failures > 0);
    await eventually("production to go on while Redis is down", () => produced >= producedAtStop + 50);
    await server.start();
    const producedAtRestart = produced;
    await eventually("production to go on after Redis is back", () => produced >= producedAtRestart + 50);
    producers.running = false;
    await producing;

    const total = produced;
    await eventually(`${total} effects`, async () => (await effects(suite.orm)).length >= total, 80_000);
    const applied = await effects(suite.orm);
    expect(applied).toHaveLength(total);
    expect(new Set(applied.map((e) => e.event_id)).size).toBe(total);
    for (const orderId of orders) {
      expect(applied.filter((e) => e.correlation_id === orderId).map((e) => e.seq)).toEqual(
        Array.from({ length: perOrder.get(orderId) ?? 0 }, (_, i) => i + 1),
      );
    }
    // One error per outage, not one per retry.
    expect(records.filter((r) => String(r.msg).includes("cannot publish"))).toHaveLength(1);
    expect(records.filter((r) => String(r.msg).includes("publishing again"))).toHaveLength(1);
  } finally {
    producers.running = false;
    await consumer.stop();
    await relay.stop();
    redis.disconnect();
    await server.stop();
    server.cleanup();
  }
}, 90_000); // a few seconds when the machine is idle; room for a loaded CI box
