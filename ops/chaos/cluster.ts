/**
 * The platform as a drill runs it: its own throwaway Postgres, Redis and SMTP sink (so it may restart
 * them without disturbing anything else), `replicas` processes of every subgraph sharing the service's
 * database and consumer group behind a round-robin balancer (the stand-in for a Kubernetes Service),
 * and `gateways` gateways. Every process can be SIGKILLed and started again; Redis and Postgres can be
 * restarted in place (same port, same data). With `redisCluster` Redis is a local Redis Cluster (3
 * masters, a replica each) whose masters fail over (`CLUSTER FAILOVER`) or die (kill -9).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import {
  createServiceDatabases,
  freePort,
  provisionInfra,
  startPostgres,
  startRedisBinary,
  stopPostgresAt,
  type Infra,
  type RedisClusterServer,
  type RedisServer,
} from "../provision";
import {
  baseEnv,
  entryOf,
  ManagedProcess,
  randomSecret,
  SERVICES,
  throwawayEnv,
  uniqueStreamPrefix,
  type ProcessName,
  type ServiceName,
} from "../provision/platform";
import { startBalancer, type Balancer } from "./balancer";
import type { DatabaseUrls } from "../commands/targets";

export interface ClusterOptions {
  replicas?: number;
  gateways?: number;
  /** extra env for every process */
  env?: Record<string, string>;
  log?: (line: string) => void;
  healthTimeoutMs?: number;
  /** run on a local Redis Cluster instead of one Redis */
  redisCluster?: boolean;
}

export interface Replica {
  name: string;
  service: ProcessName;
  port: number;
  proc: ManagedProcess;
}

export interface Cluster {
  gatewayUrls: string[];
  replicas: Replica[];
  databases: DatabaseUrls;
  redisUrl: string;
  streamPrefix: string;
  smtpApi: string;
  logDir: string;
  /** SIGKILL a replica (by name, e.g. `order-1`, `gateway-2`) */
  kill(name: string): Promise<void>;
  /** start it again; resolves once healthy */
  start(name: string): Promise<void>;
  /** the local Redis Cluster, when the drill runs on one */
  redisCluster: RedisClusterServer | null;
  /** one Redis: down for `downtimeMs`, back on the same port with its AOF */
  restartRedis(downtimeMs?: number): Promise<void>;
  /** a cluster: `CLUSTER FAILOVER` of the master serving `key`; says which node took over */
  failoverRedisMaster(key: string): Promise<string>;
  /** a cluster: kill -9 of the master serving `key`, its replica elected, then the node started again (a replica now) */
  killRedisMaster(key: string): Promise<string>;
  /** Postgres stopped in `immediate` mode (a crash, recovery on start) and started again on the same port */
  restartPostgres(downtimeMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The throwaway test server runs with `synchronous_commit = off` (fast tests); a crash then loses
 * commits the services were told had happened, which no production database does. The drill crashes
 * Postgres on purpose, so it must acknowledge a commit only once its WAL is written.
 */
async function durableCommits(adminUrl: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`alter system set synchronous_commit = 'on'`);
    await client.query(`select pg_reload_conf()`);
  } finally {
    await client.end();
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const replicasPerService = options.replicas ?? 2;
  const gatewayCount = options.gateways ?? 2;
  const log = options.log ?? (() => undefined);
  const healthTimeout = options.healthTimeoutMs ?? 180_000;
  const adminPassword = randomSecret(18);
  // REDIS_URL / DATABASE_URL of the caller would make provisionInfra reuse servers we must not restart
  const infra: Infra = await provisionInfra({ mode: "ephemeral", adminPassword, env: {}, redisCluster: options.redisCluster, log });
  let redis: RedisServer | null = infra.redis;
  const redisCluster = infra.redisCluster;
  const needCluster = () => {
    if (!redisCluster) throw new Error("this fault needs the drill on a Redis Cluster (--redis-cluster)");
    return redisCluster;
  };
  const pg = infra.postgres!;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "commerce-chaos-"));
  const balancers: Balancer[] = [];
  const replicas: Replica[] = [];

  // the reaper (started by provisionInfra) kills our children too if this process dies without stop()
  const startProc = (proc: ManagedProcess) => {
    proc.start();
    infra.reaper?.set("children", { kind: "pids", pids: replicas.map((r) => r.proc.pid!).filter(Boolean) });
  };
  const stop = async () => {
    for (const r of replicas.filter((x) => x.service === "gateway")) await r.proc.stop();
    await Promise.all(replicas.map((r) => r.proc.stop()));
    await Promise.all(balancers.map((b) => b.close()));
    await infra.stop();
    // the first Redis object was stopped by infra.stop(); a restarted one is ours to stop
    if (redis !== infra.redis) await redis?.stop().catch(() => undefined);
  };

  try {
    await durableCommits(infra.pgAdminUrl);
    const dbs = await createServiceDatabases(infra.pgAdminUrl, SERVICES);
    const ports = {} as Record<ProcessName, number>;
    const live = (service: ProcessName) => () => replicas.filter((r) => r.service === service && r.proc.running).map((r) => r.port);
    for (const svc of SERVICES) {
      const balancer = await startBalancer(live(svc));
      balancers.push(balancer);
      ports[svc] = balancer.port;
    }
    ports.gateway = 0;
    const streamPrefix = uniqueStreamPrefix("chaos");
    const env = throwawayEnv({ ports, redisUrl: infra.redisUrl, streamPrefix, smtpUrl: infra.smtp!.smtpUrl, extra: options.env });

    const add = async (service: ProcessName, index: number) => {
      const name = `${service}-${index}`;
      const port = await freePort();
      const proc = new ManagedProcess({
        name,
        entry: entryOf(service),
        env: {
          ...baseEnv(),
          ...env,
          PORT: String(port),
          ...(service !== "gateway" ? { DATABASE_URL: dbs[service as ServiceName].url } : {}),
        },
        output: { kind: "file", path: path.join(logDir, `${name}.log`) },
      });
      const replica = { name, service, port, proc };
      replicas.push(replica);
      startProc(proc);
      await proc.waitHealthy(`http://127.0.0.1:${port}/health`, healthTimeout);
      log(`${name} is up on :${port}`);
      return replica;
    };
    // Replica 1 of each service first: it runs the migrations and bootstrap; two at once would race.
    await Promise.all(SERVICES.map((svc) => add(svc, 1)));
    for (let i = 2; i <= replicasPerService; i += 1) await Promise.all(SERVICES.map((svc) => add(svc, i)));
    const gateways: Replica[] = [];
    for (let i = 1; i <= gatewayCount; i += 1) gateways.push(await add("gateway", i));

    const byName = (name: string) => {
      const replica = replicas.find((r) => r.name === name);
      if (!replica) throw new Error(`no process ${name} (have ${replicas.map((r) => r.name).join(", ")})`);
      return replica;
    };
    return {
      gatewayUrls: gateways.map((g) => `http://127.0.0.1:${g.port}/graphql`),
      replicas,
      databases: Object.fromEntries(SERVICES.map((svc) => [svc, dbs[svc].url])) as DatabaseUrls,
      redisUrl: infra.redisUrl,
      streamPrefix,
      smtpApi: infra.smtp!.apiUrl,
      logDir,
      async kill(name) {
        await byName(name).proc.kill("SIGKILL");
      },
      async start(name) {
        const replica = byName(name);
        if (replica.proc.running) return;
        startProc(replica.proc);
        await replica.proc.waitHealthy(`http://127.0.0.1:${replica.port}/health`, healthTimeout);
      },
      redisCluster,
      async restartRedis(downtimeMs = 1000) {
        if (!redis) throw new Error("on a Redis Cluster, fail a master over or kill it instead");
        const { bin, dir, port } = redis;
        await redis.stop();
        await sleep(downtimeMs);
        redis = await startRedisBinary(bin!, { dir, port });
      },
      async failoverRedisMaster(key) {
        const master = await needCluster().masterOf(key);
        const promoted = await needCluster().failover(master);
        return `master :${master} of ${key} failed over to :${promoted}`;
      },
      async killRedisMaster(key) {
        const rc = needCluster();
        const master = await rc.masterOf(key);
        rc.kill(master);
        await rc.waitHealthy(60_000);
        const promoted = await rc.masterOf(key);
        await rc.restart(master);
        await rc.waitHealthy(60_000);
        return `master :${master} of ${key} killed, :${promoted} elected, :${master} back as a replica`;
      },
      async restartPostgres(downtimeMs = 1000) {
        await stopPostgresAt(pg.dataDir, pg.bindir, pg.user, "immediate");
        await sleep(downtimeMs);
        await startPostgres({ dir: pg.dir, adminPassword, port: pg.port, ephemeral: true });
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}\n(logs: ${logDir})`);
  }
}
