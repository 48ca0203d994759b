/**
 * The whole platform for a benchmark, outside jest: its own throwaway Postgres, Redis and SMTP sink
 * (ops/provision), the five service databases, the five subgraphs and the gateway as child processes
 * (ops/provision/platform.ts), all on this machine. The same recipe as `startPlatform()` in @commerce/testing,
 * minus jest's globalSetup.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { createServiceDatabases, freePort, provisionInfra, type Infra } from "../../provision";
import {
  baseEnv,
  entryOf,
  ManagedProcess,
  SERVICES,
  throwawayEnv,
  uniqueStreamPrefix,
  type ProcessName,
  type ServiceName,
} from "../../provision/platform";

export interface BenchPlatformOptions {
  /** extra env for every process (rate limits, deadlines…) */
  env?: Record<string, string>;
  /**
   * Durable commits (fsync, synchronous_commit, full-page writes), as in production. The throwaway server
   * is created without them (tests need speed, not durability); a benchmark should pay what production
   * pays. Default true.
   */
  durable?: boolean;
  log?: (line: string) => void;
  healthTimeoutMs?: number;
  /** processes to profile: {@link BenchPlatform.toggleProfiles} starts, then stops and writes, their CPU profiles (in the log dir) */
  profile?: string[];
}

export interface BenchPlatform {
  gatewayUrl: string;
  redisUrl: string;
  streamPrefix: string;
  /** superuser URL to each service's database (the bench reads timings from them) */
  adminUrls: Record<ServiceName, string>;
  logDir: string;
  /** superuser URL to the `postgres` database, and the server's log file */
  pgAdminUrl: string;
  pgLogFile: string;
  /** `/metrics` of each subgraph (Prometheus text) */
  metricsUrls: Record<ServiceName, string>;
  /** the environment every process got (secrets, Redis, SUBGRAPH_<NAME>_URL…), and each subgraph's /graphql */
  env: Record<string, string>;
  subgraphUrls: Record<ServiceName, string>;
  /** starts one more process on the platform's environment (and a free PORT); resolves to its base URL once /health answers */
  startExtra(name: string, entry: string, env?: Record<string, string>): Promise<string>;
  /** pid of every process of the platform (gateway, subgraphs, postgres, redis), for CPU accounting */
  pids(): Record<string, number | undefined>;
  /** SIGUSR2 to the profiled processes (see profile-preload.js): first call starts, second writes */
  toggleProfiles(): void;
  stop(): Promise<void>;
}

/** Provisions infrastructure and starts every process; resolves once all are healthy. */
export async function startBenchPlatform(options: BenchPlatformOptions = {}): Promise<BenchPlatform> {
  const log = options.log ?? (() => undefined);
  const healthTimeout = options.healthTimeoutMs ?? 180_000;
  // REDIS_URL / DATABASE_URL of the caller would make provisionInfra reuse servers shared with others.
  // (its own log would echo every e-mail the sink receives: thousands during a run)
  const infra: Infra = await provisionInfra({ mode: "ephemeral", env: {} });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "commerce-bench-"));
  const procs: ManagedProcess[] = [];
  const stop = async () => {
    const gateway = procs.find((p) => p.name === "gateway");
    await gateway?.stop();
    await Promise.all(procs.map((p) => p.stop()));
    await infra.stop();
  };
  try {
    if (options.durable !== false) await makeDurable(infra.pgAdminUrl);
    const databases = await createServiceDatabases(infra.pgAdminUrl, SERVICES);
    const ports = {} as Record<ProcessName, number>;
    for (const name of [...SERVICES, "gateway"] as ProcessName[]) ports[name] = await freePort();
    const streamPrefix = uniqueStreamPrefix("bench");
    const env = throwawayEnv({ ports, redisUrl: infra.redisUrl, streamPrefix, smtpUrl: infra.smtp!.smtpUrl, extra: options.env });
    const start = async (name: ProcessName) => {
      const proc = new ManagedProcess({
        name,
        entry: entryOf(name),
        env: {
          ...baseEnv(),
          ...env,
          PORT: String(ports[name]),
          ...(name !== "gateway" ? { DATABASE_URL: databases[name as ServiceName]!.url } : {}),
          ...(options.profile?.includes(name)
            ? { NODE_OPTIONS: `--require ${path.join(__dirname, "profile-preload.js")}`, BENCH_PROFILE_DIR: logDir, BENCH_PROFILE_NAME: name }
            : {}),
        },
        output: { kind: "file", path: path.join(logDir, `${name}.log`) },
      });
      procs.push(proc);
      proc.start();
      // the reaper (started by provisionInfra) kills our children if this process dies without stop()
      infra.reaper?.set("children", { kind: "pids", pids: procs.map((p) => p.pid!).filter(Boolean) });
      await proc.waitHealthy(`http://127.0.0.1:${ports[name]}/health`, healthTimeout);
      log(`${name} is up on :${ports[name]}`);
    };
    await Promise.all(SERVICES.map(start));
    await start("gateway");
    const adminUrls = {} as Record<ServiceName, string>;
    for (const svc of SERVICES) {
      const url = new URL(infra.pgAdminUrl);
      url.pathname = `/${databases[svc]!.database}`;
      adminUrls[svc] = url.toString();
    }
    const pids = () => ({
      ...Object.fromEntries(procs.map((p) => [p.name, p.pid])),
      postgres: infra.postgres?.pid,
      redis: infra.redis?.pid,
    });
    const toggleProfiles = () => {
      for (const p of procs) if (options.profile?.includes(p.name) && p.pid) process.kill(p.pid, "SIGUSR2");
    };
    const startExtra = async (name: string, entry: string, extra: Record<string, string> = {}) => {
      const port = await freePort();
      const proc = new ManagedProcess({
        name,
        entry,
        env: { ...baseEnv(), ...env, ...extra, PORT: String(port) },
        output: { kind: "file", path: path.join(logDir, `${name}.log`) },
      });
      procs.push(proc);
      proc.start();
      infra.reaper?.set("children", { kind: "pids", pids: procs.map((p) => p.pid!).filter(Boolean) });
      await proc.waitHealthy(`http://127.0.0.1:${port}/health`, healthTimeout);
      log(`${name} is up on :${port}`);
      return `http://127.0.0.1:${port}`;
    };
    const subgraphUrls = Object.fromEntries(SERVICES.map((svc) => [svc, `http://127.0.0.1:${ports[svc]}/graphql`])) as Record<ServiceName, string>;
    const metricsUrls = Object.fromEntries(SERVICES.map((svc) => [svc, `http://127.0.0.1:${ports[svc]}/metrics`])) as Record<ServiceName, string>;
    return {
      gatewayUrl: `http://127.0.0.1:${ports.gateway}/graphql`,
      env,
      subgraphUrls,
      startExtra,
      redisUrl: infra.redisUrl,
      streamPrefix,
      adminUrls,
      pgAdminUrl: infra.pgAdminUrl,
      pgLogFile: infra.postgres!.logFile,
      logDir,
      metricsUrls,
      pids,
      toggleProfiles,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}\n(logs: ${logDir})`);
  }
}

/** db_queries_total of each subgraph (every SQL statement its ORM sent, BEGIN/COMMIT included). */
export async function sqlStatements(platform: BenchPlatform): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [svc, url] of Object.entries(platform.metricsUrls)) {
    const text = await (await fetch(url)).text();
    out[svc] = Number(/^db_queries_total(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? NaN);
  }
  return out;
}

/** Turns the throwaway server's test shortcuts off (all three settings take effect on reload). */
export async function makeDurable(adminUrl: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const setting of ["fsync = on", "synchronous_commit = on", "full_page_writes = on"]) await client.query(`alter system set ${setting}`);
    await client.query("select pg_reload_conf()");
  } finally {
    await client.end();
  }
}
