/**
 * Shared test helpers. The infrastructure itself comes from jest's globalSetup (global-setup.ts),
 * which exports TEST_PG_ADMIN_URL, TEST_REDIS_URL, TEST_SMTP_PORT, TEST_SMTP_URL, TEST_SMTP_API
 * (and TEST_REDIS_PORT / TEST_REDIS_DIR / TEST_REDIS_BIN when it started Redis itself).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { Client } from "pg";
import pino, { type Logger } from "pino";
import {
  databaseUrlOn,
  dropDatabases,
  ensureOwnedDatabase,
  freePort,
  isListening,
  Reaper,
  redisArgs,
  REPO_ROOT,
  ServiceDatabase,
  shutdownRedisAt,
  SinkMessage,
  sleep,
  startReaper,
  startPostgres,
  startRedisCluster,
  provisionServiceDatabases,
  type PgServer,
  type RedisClusterServer,
  type StartRedisClusterOptions,
  waitRedisReady,
} from "@commerce/ops";
import { baseEnv, throwawayEnv, entryOf, ManagedProcess, ProcessName, randomSecret, SERVICES, ServiceName } from "@commerce/ops";
import { spawn } from "node:child_process";

export { freePort, SERVICES };
export type { RedisClusterServer };
export { adminUrlFor, startPostgres, stopPostgresAt, type PgServer } from "@commerce/ops";
export type { ServiceName, ProcessName, SinkMessage, ServiceDatabase };

function need(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run tests through jest with the root jest.config.js (its globalSetup provisions ` +
        `Postgres/Redis/SMTP), e.g. \`npm test\`; TEST_INFRA=none (npm test -- --unit) skips provisioning.`,
    );
  }
  return value;
}

/** URLs of the shared test infrastructure. */
export function testInfra() {
  return {
    pgAdminUrl: need("TEST_PG_ADMIN_URL"),
    redisUrl: need("TEST_REDIS_URL"),
    smtpPort: Number(need("TEST_SMTP_PORT")),
    smtpUrl: process.env.TEST_SMTP_URL ?? `smtp://127.0.0.1:${need("TEST_SMTP_PORT")}`,
    smtpApi: need("TEST_SMTP_API"),
  };
}

const shortId = (bytes = 4) => crypto.randomBytes(bytes).toString("hex");
const cleanLabel = (label: string) =>
  label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 24) || "db";

/** A unique stream key prefix, so tests sharing one Redis never see each other's streams. */
export function randomStreamPrefix(label = "test"): string {
  return `t_${cleanLabel(label)}_${shortId()}`;
}

export interface TestDatabase {
  /** URL with the database's own (non-superuser) role */
  url: string;
  database: string;
  role: string;
  password: string;
  /** superuser URL to this database */
  adminUrl: string;
  drop(): Promise<void>;
}

/** A fresh database owned by its own login role, on the shared test server. */
export async function createTestDatabase(label = "db"): Promise<TestDatabase> {
  const adminUrl = need("TEST_PG_ADMIN_URL");
  const database = `test_${cleanLabel(label)}_${shortId()}`;
  const role = `${database}_role`;
  const password = randomSecret(18);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await ensureOwnedDatabase(client, role, database, password);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  const url = `postgres://${role}:${encodeURIComponent(password)}@${u.hostname}:${u.port || 5432}/${database}`;
  const dbAdmin = new URL(adminUrl);
  dbAdmin.pathname = `/${database}`;
  let dropped = false;
  return {
    url,
    database,
    role,
    password,
    adminUrl: dbAdmin.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await dropDatabases(adminUrl, [{ database, role }]);
    },
  };
}

/** A client of the shared test Redis. */
export function redisClient(): Redis {
  return new Redis(need("TEST_REDIS_URL"), { lazyConnect: false });
}

/** A logger that drops everything (TEST_LOG_LEVEL shows it). */
export function silentLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}

/** A logger that keeps every record, to assert on what was logged. */
export function memoryLogger(options: { level?: string; base?: Record<string, unknown> } = {}) {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: options.level ?? "debug", ...(options.base ? { base: options.base } : {}) },
    { write: (line: string) => void records.push(JSON.parse(line)) },
  );
  return { logger, records, lines: () => records.map((record) => JSON.stringify(record)) };
}

type Probe<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

/**
 * Polls `probe` until it returns a truthy value (a throw counts as "not yet"), at first every 20 ms and
 * then less often; fails after `timeoutMs` naming `what` and the last error.
 */
export async function eventually<T>(what: string, probe: Probe<T>, timeoutMs?: number): Promise<T>;
/** @deprecated the description comes first: `eventually(what, probe, timeoutMs)`. */
export async function eventually<T>(probe: Probe<T>, what: string, timeoutMs?: number): Promise<T>;
export async function eventually<T>(first: string | Probe<T>, second: string | Probe<T>, timeoutMs = 20_000): Promise<T> {
  const [what, probe] = typeof first === "string" ? [first, second as Probe<T>] : [second as string, first];
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let pause = 20; ; pause = Math.min(pause * 1.5, 250)) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(pause);
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP sink client

async function sinkFetch(pathAndQuery: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(`${need("TEST_SMTP_API")}${pathAndQuery}`, init);
  if (!res.ok) throw new Error(`smtp sink ${init?.method ?? "GET"} ${pathAndQuery}: HTTP ${res.status}`);
  return res.json();
}

export const smtpSink = {
  /** Messages received so far (oldest first), only those to `to` when given. */
  async messages(to?: string): Promise<SinkMessage[]> {
    return (await sinkFetch(`/messages${to ? `?to=${encodeURIComponent(to)}` : ""}`)) as SinkMessage[];
  },
  /** Wait until a message to `to` (matching `predicate`) arrives; returns it. */
  async waitFor(to: string, predicate: (m: SinkMessage) => boolean = () => true, timeoutMs = 15_000): Promise<SinkMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await smtpSink.messages(to)).find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching e-mail to ${to} within ${timeoutMs} ms`);
      await sleep(200);
    }
  },
  /** Forget every message (of every test of the run: prefer unique recipients and messages(to)). */
  async clear(): Promise<void> {
    await sinkFetch("/messages", { method: "DELETE" });
  },
  /**
   * The next `count` messages are rejected with a 451 temporary error. With `to`, only messages to
   * that address (prefer it: the sink is shared by every test of the run).
   */
  async fail(count: number, options: { to?: string } = {}): Promise<void> {
    await sinkFetch("/fail", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ count, to: options.to }) });
  },
  /** Refuse every connection (421) until up(). Affects every test of the run. */
  async down(): Promise<void> {
    await sinkFetch("/fail", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode: "down" }) });
  },
  /** Accept messages again (also clears pending fail counts). */
  async up(): Promise<void> {
    await sinkFetch("/fail", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode: "up" }) });
  },
};

// ---------------------------------------------------------------------------------------------
// Redis chaos (only when globalSetup started Redis itself)

/** True when stopRedis()/startRedis()/restartRedis() can work (we started Redis, not REDIS_URL). */
export function canControlRedis(): boolean {
  return !!(process.env.TEST_REDIS_PORT && process.env.TEST_REDIS_DIR && process.env.TEST_REDIS_BIN);
}

function redisControl() {
  if (!canControlRedis()) throw new Error("Redis was not started by the test setup (REDIS_URL given?): cannot stop/restart it");
  return { port: Number(process.env.TEST_REDIS_PORT), dir: process.env.TEST_REDIS_DIR!, bin: process.env.TEST_REDIS_BIN! };
}

/** Shut the shared test Redis down (its AOF is flushed: data survives a later startRedis()). */
export async function stopRedis(): Promise<void> {
  const { port } = redisControl();
  await shutdownRedisAt(port);
}

/** Start the shared test Redis again on the same port and data dir (no-op when it is up). */
export async function startRedis(): Promise<void> {
  const { port, dir, bin } = redisControl();
  if (await isListening(port)) return;
  const log = fs.openSync(path.join(dir, "redis.log"), "a");
  const child = spawn(bin, redisArgs(port, dir), { detached: true, stdio: ["ignore", log, log], cwd: dir });
  fs.closeSync(log);
  child.unref(); // outlives this worker; global teardown shuts it down by port
  await waitRedisReady(port);
}

/** Stop Redis, stay down `downtimeMs`, start it again on the same port with its data. */
export async function restartRedis(options: { downtimeMs?: number } = {}): Promise<void> {
  await stopRedis();
  if (options.downtimeMs) await sleep(options.downtimeMs);
  await startRedis();
}

// ---------------------------------------------------------------------------------------------
// A real Redis Cluster, for the suites that need one

/**
 * Starts a local Redis Cluster (3 masters, a replica each) for one suite; `stop()` it in `afterAll`.
 * Its `url` is a `redis+cluster://` URL that `createRedis` and every process's `REDIS_URL` accept.
 */
export async function startTestRedisCluster(options: Omit<StartRedisClusterOptions, "dir"> = {}): Promise<RedisClusterServer> {
  const root = process.env.TEST_INFRA_DIR ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(root, "redis-cluster-"));
  const cluster = await startRedisCluster({ dir, ...options });
  return {
    ...cluster,
    async stop() {
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Another Postgres server, for the suites that spread databases over servers

/**
 * Starts a throwaway Postgres server (besides the shared one) for one suite; `stop()` it in `afterAll`.
 * `settings` override its postgresql.conf (e.g. `{ wal_level: "replica" }`, a server relays cannot use).
 */
export async function startTestPostgres(options: { settings?: Record<string, string> } = {}): Promise<PgServer> {
  const root = process.env.TEST_INFRA_DIR ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(root, "pg-"));
  fs.chmodSync(dir, 0o755); // the postgres OS user must traverse it
  const reaper = startReaper();
  reaper.set("rm", { kind: "rm", path: dir });
  try {
    const server = await startPostgres({
      dir: path.join(dir, "pg"),
      adminPassword: randomSecret(18),
      port: await freePort(),
      ephemeral: true,
      settings: options.settings,
    });
    reaper.set("pg", { kind: "pg", bindir: server.bindir, dataDir: server.dataDir, user: server.user });
    return {
      ...server,
      async stop() {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
        if (!server.dir.startsWith(dir)) fs.rmSync(server.dir, { recursive: true, force: true });
        reaper.dispose();
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    reaper.dispose();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The whole platform as child processes (e2e)

export interface StartPlatformOptions {
  /** subgraphs to start (default all five) */
  services?: readonly ServiceName[];
  /** start the gateway (default true) */
  gateway?: boolean;
  /**
   * superuser URL of the server holding a service's database (default the shared test server), e.g.
   * `{ order: second.adminUrl }` with `second = await startTestPostgres()`
   */
  databaseServers?: Partial<Record<ServiceName, string>>;
  /** extra env for every process (e.g. SAGA_DEADLINE_MS) */
  env?: Record<string, string>;
  /** extra env per process */
  serviceEnv?: Partial<Record<ProcessName, Record<string, string>>>;
  /** default: a random `t_e2e_<hex>` */
  streamPrefix?: string;
  /** Redis of every process, e.g. `startTestRedisCluster().url` (default: the shared test Redis) */
  redisUrl?: string;
  /** folder holding subgraphs/<svc>/src/main.ts and gateway/src/main.ts (default: the repo) */
  appRoot?: string;
  /** per process (default 90 s: on 2 cores six processes compile TypeScript at once) */
  healthTimeoutMs?: number;
  /** also echo child output to stderr (default: PLATFORM_LOGS=1) */
  echoLogs?: boolean;
}

export interface Platform {
  /** http://127.0.0.1:<port>/graphql */
  gatewayUrl: string;
  /** ws://127.0.0.1:<port>/graphql */
  wsUrl: string;
  /** GraphQL URL of each subgraph */
  urls: Record<ServiceName, string>;
  ports: Record<ProcessName, number>;
  databases: Record<ServiceName, ServiceDatabase>;
  /** env common to all processes (REDIS_URL, STREAM_PREFIX, INTERNAL_SECRET, JWT_KEYS, SMTP_URL, SUBGRAPH_*_URL…) */
  env: Record<string, string>;
  streamPrefix: string;
  /** folder with one <name>.log per process */
  logDir: string;
  logFile(name: ProcessName): string;
  /** last lines a process printed */
  logs(name: ProcessName, lines?: number): string;
  /** stop every process (gateway first) and drop the databases */
  stop(): Promise<void>;
  /** graceful stop (SIGTERM) then start again on the same port; resolves when healthy */
  restart(name: ProcessName): Promise<void>;
  /** send `signal` (default SIGKILL) and wait until the process is gone; no restart */
  kill(name: ProcessName, signal?: NodeJS.Signals): Promise<void>;
  /** start a killed/stopped process again; resolves when healthy */
  start(name: ProcessName): Promise<void>;
  /** send `signal` and return at once: SIGSTOP freezes a process (an overloaded one, to its callers), SIGCONT resumes it */
  signal(name: ProcessName, signal: NodeJS.Signals): void;
}

/**
 * Start the subgraphs and the gateway as child processes on free ports, with fresh databases
 * (unique suffix) and a random STREAM_PREFIX, against the shared test Postgres/Redis/SMTP sink.
 */
export async function startPlatform(options: StartPlatformOptions = {}): Promise<Platform> {
  const infra = testInfra();
  const services = options.services ?? SERVICES;
  const withGateway = options.gateway !== false;
  const appRoot = options.appRoot ?? REPO_ROOT;
  const healthTimeout = options.healthTimeoutMs ?? 90_000;
  const echo = options.echoLogs ?? process.env.PLATFORM_LOGS === "1";
  const id = shortId(3);
  const streamPrefix = options.streamPrefix ?? `t_e2e_${id}`;
  const missing = [...services, ...(withGateway ? ["gateway" as const] : [])].map((n) => entryOf(n, appRoot)).filter((f) => !fs.existsSync(f));
  if (missing.length) throw new Error(`startPlatform: missing entry point(s): ${missing.join(", ")}`);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `commerce-platform-${id}-`));

  const ports = {} as Record<ProcessName, number>;
  for (const name of [...SERVICES, "gateway"] as ProcessName[]) ports[name] = await freePort();
  const serverOf = (svc: ServiceName) => options.databaseServers?.[svc] ?? infra.pgAdminUrl;
  const databases = await provisionServiceDatabases(
    Object.fromEntries(services.map((svc) => [svc, databaseUrlOn(serverOf(svc), `commerce_${svc}_e${id}`)])) as Record<ServiceName, string>,
    { roleSuffix: `_e${id}` },
  );
  const env = throwawayEnv({ ports, redisUrl: options.redisUrl ?? infra.redisUrl, streamPrefix, smtpUrl: infra.smtpUrl, extra: options.env });

  const procs = new Map<ProcessName, ManagedProcess>();
  let reaper: Reaper | null = null;
  const updateReaper = () => reaper?.set("children", { kind: "pids", pids: [...procs.values()].map((p) => p.pid!).filter(Boolean) });
  const logFile = (name: ProcessName) => path.join(logDir, `${name}.log`);
  const healthUrl = (name: ProcessName) => `http://127.0.0.1:${ports[name]}/health`;

  const make = (name: ProcessName) => {
    const entry = entryOf(name, appRoot);
    if (!fs.existsSync(entry)) throw new Error(`startPlatform: ${entry} does not exist`);
    const proc = new ManagedProcess({
      name,
      entry,
      env: {
        ...baseEnv(),
        ...env,
        PORT: String(ports[name]),
        ...(name !== "gateway" ? { DATABASE_URL: databases[name as ServiceName].url } : {}),
        ...(options.serviceEnv?.[name] ?? {}),
      },
      output: { kind: "file", path: logFile(name), echo: echo ? (line) => process.stderr.write(`${name}| ${line}\n`) : undefined },
    });
    procs.set(name, proc);
    return proc;
  };
  const startOne = async (name: ProcessName) => {
    const proc = procs.get(name) ?? make(name);
    proc.start();
    updateReaper();
    await proc.waitHealthy(healthUrl(name), healthTimeout);
  };

  // The gateway starts last, long after the ports were picked: its port is picked at its start, and again
  // if another process took it meanwhile (nothing else is configured with it).
  const startGateway = async () => {
    for (let attempt = 1; ; attempt += 1) {
      ports.gateway = await freePort();
      procs.delete("gateway");
      try {
        return await startOne("gateway");
      } catch (error) {
        if (attempt >= 3 || !/EADDRINUSE/.test(procs.get("gateway")?.lastLines(40) ?? "")) throw error;
      }
    }
  };

  const stopAll = async () => {
    await procs.get("gateway")?.stop();
    await Promise.all([...procs.values()].map((p) => p.stop()));
    reaper?.dispose();
    reaper = null;
    await Promise.all(
      [...new Set(services.map(serverOf))].map((server) =>
        dropDatabases(
          server,
          services.filter((svc) => serverOf(svc) === server).map((svc) => databases[svc]),
        ).catch(() => {}),
      ),
    );
  };

  try {
    reaper = startReaper();
    await Promise.all(services.map((svc) => startOne(svc)));
    if (withGateway) await startGateway();
  } catch (err) {
    await stopAll();
    throw new Error(`${(err as Error).message}\n(logs: ${logDir})`);
  }

  const get = (name: ProcessName) => {
    const proc = procs.get(name);
    if (!proc) throw new Error(`${name} is not part of this platform`);
    return proc;
  };
  const urls = {} as Record<ServiceName, string>;
  for (const svc of SERVICES) urls[svc] = `http://127.0.0.1:${ports[svc]}/graphql`;

  return {
    gatewayUrl: `http://127.0.0.1:${ports.gateway}/graphql`,
    wsUrl: `ws://127.0.0.1:${ports.gateway}/graphql`,
    urls,
    ports,
    databases,
    env,
    streamPrefix,
    logDir,
    logFile,
    logs: (name, lines = 50) => get(name).lastLines(lines),
    stop: stopAll,
    async restart(name) {
      await get(name).stop();
      await startOne(name);
    },
    async kill(name, signal = "SIGKILL") {
      await get(name).kill(signal);
    },
    signal(name, signal) {
      get(name).signal(signal);
    },
    async start(name) {
      const proc = get(name);
      if (proc.running) return;
      await startOne(name);
    },
  };
}
