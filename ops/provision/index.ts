import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { PgServer, startPostgres } from "./postgres";
// The subpath, not the package: the package loads the ORM entities, whose metadata jest would copy from
// its global setup into every test run in-band.
import { isClusterUrl, parseClusterUrl, redisUrlFromEnv } from "@commerce/streams/redis-client";
import { RedisServer, shutdownRedisAt, startRedis } from "./redis";
import { startRedisCluster, type RedisClusterServer } from "./redis-cluster";
import { checkReplicationServer, redactUrl } from "./service-databases";
import { SmtpSink, startSmtpSink } from "./smtp-sink";
import { freePort, Logger, redisCommand, silent } from "./util";
import { SERVICES } from "./platform";

export * from "./postgres";
export * from "./redis";
export * from "./redis-cluster";
export * from "./service-databases";
export * from "./smtp-sink";
export * from "./util";
export { parseMail } from "./mime";
export * from "./platform";
export { GraphQLClient } from "./graphql-client";
export * from "./storefront";
export { loadSubgraphModule } from "./subgraph-modules";

export type ReaperAction =
  | { kind: "pids"; pids: number[] }
  | { kind: "redis"; port: number }
  | { kind: "pg"; bindir: string; dataDir: string; user: string | null }
  | { kind: "rm"; path: string };

export interface Reaper {
  set(key: string, action: ReaperAction | null): void;
  /** the parent cleaned up itself: stop watching */
  dispose(): void;
}

/**
 * Start the detached watchdog (reaper.js) that cleans up `actions` if this process dies without
 * doing it itself. Actions are keyed so they can be replaced (e.g. the pid list of a restarted child).
 */
export function startReaper(parentPid = process.pid): Reaper {
  const configFile = path.join(os.tmpdir(), `commerce-reaper-${parentPid}-${crypto.randomBytes(4).toString("hex")}.json`);
  const actions = new Map<string, ReaperAction>();
  const write = () => {
    const tmp = `${configFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ parentPid, actions: [...actions.values()] }));
    fs.renameSync(tmp, configFile);
  };
  write();
  const child = spawn(process.execPath, [path.join(__dirname, "reaper.js"), configFile], { detached: true, stdio: "ignore" });
  child.unref();
  let disposed = false;
  return {
    set(key, action) {
      if (disposed) return;
      if (action) actions.set(key, action);
      else actions.delete(key);
      write();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      fs.rmSync(configFile, { force: true });
      try {
        if (child.pid) process.kill(child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    },
  };
}

export interface ProvisionOptions {
  /** persistent: data kept in `dataDir` across runs (npm start); ephemeral: a temp dir removed on stop (tests) */
  mode: "persistent" | "ephemeral";
  /** persistent mode: the root data dir, e.g. <repo>/.data (pg/, redis/, mail/ go under it) */
  dataDir?: string;
  /** superuser password of a server we start (persistent: must stay the same across runs) */
  adminPassword?: string;
  /** preferred ports (persistent mode; taken → a free one). Ephemeral mode always uses random free ports. */
  ports?: { postgres?: number; redis?: number; smtp?: number; smtpApi?: number };
  /** provide a Postgres server (default true; npm start skips it when every service has DATABASE_URL_<SERVICE>) */
  postgres?: boolean;
  /** start a local Redis Cluster (3 masters, a replica each) instead of one Redis (default false) */
  redisCluster?: boolean;
  /** start the SMTP sink (default true) */
  smtp?: boolean;
  /** DATABASE_URL / REDIS_URL / REDIS_CLUSTER_NODES are read from here (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** watchdog that cleans up if this process is killed (default true) */
  reaper?: boolean;
  log?: Logger;
}

export interface Infra {
  /** superuser URL (to the `postgres` database) */
  pgAdminUrl: string;
  redisUrl: string;
  /** null when Postgres was given by DATABASE_URL */
  postgres: PgServer | null;
  /** null when Redis was given by REDIS_URL, or is a cluster */
  redis: RedisServer | null;
  /** the local Redis Cluster, when asked for one */
  redisCluster: RedisClusterServer | null;
  smtp: SmtpSink | null;
  /** ephemeral mode: the temp dir holding everything */
  tmpDir: string | null;
  reaper: Reaper | null;
  stop(): Promise<void>;
}

async function checkPostgres(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await checkReplicationServer(client, SERVICES);
  } catch (err) {
    throw new Error(`cannot use DATABASE_URL (${redactUrl(url)}): ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What provisionInfra returns when asked for no Postgres. */
export type InfraWithoutPostgres = Omit<Infra, "pgAdminUrl"> & { pgAdminUrl: null };

/** Postgres + Redis + SMTP sink, started (or taken from DATABASE_URL / REDIS_URL). */
export async function provisionInfra(options: ProvisionOptions & { postgres: false }): Promise<InfraWithoutPostgres>;
export async function provisionInfra(options: ProvisionOptions & { postgres?: true }): Promise<Infra>;
export async function provisionInfra(options: ProvisionOptions): Promise<Infra | InfraWithoutPostgres>;
export async function provisionInfra(options: ProvisionOptions): Promise<Infra | InfraWithoutPostgres> {
  const log = options.log ?? silent;
  const env = options.env ?? process.env;
  const ephemeral = options.mode === "ephemeral";
  let root: string;
  let tmpDir: string | null = null;
  if (ephemeral) {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "commerce-test-"));
    fs.chmodSync(tmpDir, 0o755); // the postgres OS user must traverse it
    root = tmpDir;
  } else {
    if (!options.dataDir) throw new Error("provisionInfra: dataDir is required in persistent mode");
    root = path.resolve(options.dataDir);
    fs.mkdirSync(root, { recursive: true });
  }
  const ports = ephemeral ? {} : (options.ports ?? {});
  const reaper = options.reaper === false ? null : startReaper();
  if (reaper && tmpDir) reaper.set("tmp", { kind: "rm", path: tmpDir });

  let postgres: PgServer | null = null;
  let redis: RedisServer | null = null;
  let redisCluster: RedisClusterServer | null = null;
  let smtp: SmtpSink | null = null;
  const stopAll = async () => {
    await smtp?.stop().catch(() => {});
    if (redis) {
      await redis.stop().catch(() => {});
      // a test may have restarted Redis from another process: whoever listens there now goes too
      await shutdownRedisAt(redis.port).catch(() => {});
    }
    await redisCluster?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    reaper?.dispose();
  };

  try {
    let pgAdminUrl: string | null = null;
    if (options.postgres === false) {
      log("PostgreSQL: not needed here");
    } else if (env.DATABASE_URL) {
      log("PostgreSQL: using DATABASE_URL");
      await checkPostgres(env.DATABASE_URL);
      pgAdminUrl = env.DATABASE_URL;
    } else {
      const adminPassword = options.adminPassword ?? crypto.randomBytes(18).toString("base64url");
      postgres = await startPostgres({
        dir: path.join(root, "pg"),
        adminPassword,
        preferredPort: ports.postgres ?? 5432,
        port: ephemeral ? await freePort() : undefined,
        ephemeral,
        log,
      });
      reaper?.set("pg", { kind: "pg", bindir: postgres.bindir, dataDir: postgres.dataDir, user: postgres.user });
      if (reaper && tmpDir && !postgres.dir.startsWith(tmpDir)) reaper.set("pgdir", { kind: "rm", path: postgres.dir });
      pgAdminUrl = postgres.adminUrl;
    }

    let redisUrl: string;
    if (env.REDIS_URL || env.REDIS_CLUSTER_NODES) {
      redisUrl = redisUrlFromEnv(env);
      log(`Redis: using ${env.REDIS_CLUSTER_NODES ? "REDIS_CLUSTER_NODES" : "REDIS_URL"}`);
      // A plain-text PING cannot speak TLS (rediss://, rediss+cluster://): those are checked by the services' own clients.
      if (!/^rediss/.test(redisUrl)) {
        const seeds = isClusterUrl(redisUrl)
          ? parseClusterUrl(redisUrl).nodes
          : [{ host: new URL(redisUrl).hostname, port: Number(new URL(redisUrl).port || 6379) }];
        const pongs = await Promise.all(seeds.map(({ host, port }) => redisCommand(port, "PING", host).catch((e) => `error ${e.message}`)));
        if (!pongs.some((pong) => /PONG|NOAUTH/.test(pong))) throw new Error(`cannot reach Redis at ${redisUrl}: ${pongs.join("; ")}`);
      }
    } else if (options.redisCluster) {
      redisCluster = await startRedisCluster({ dir: path.join(root, "redis-cluster"), log });
      // by port: a node the drill kills and restarts is still found
      for (const node of redisCluster.nodes) reaper?.set(`redis-${node.port}`, { kind: "redis", port: node.port });
      redisUrl = redisCluster.url;
    } else {
      redis = await startRedis({
        dir: path.join(root, "redis"),
        preferredPort: ports.redis ?? 6379,
        port: ephemeral ? await freePort() : undefined,
        log,
      });
      reaper?.set("redis", { kind: "redis", port: redis.port });
      redisUrl = redis.url;
    }

    if (options.smtp !== false) {
      smtp = await startSmtpSink({
        preferredSmtpPort: ephemeral ? undefined : (ports.smtp ?? 2525),
        preferredApiPort: ephemeral ? undefined : (ports.smtpApi ?? 2526),
        smtpPort: ephemeral ? await freePort() : undefined,
        apiPort: ephemeral ? await freePort() : undefined,
        mailDir: ephemeral ? undefined : path.join(root, "mail"),
        log,
      });
    }

    if (tmpDir && postgres && !postgres.dir.startsWith(tmpDir)) {
      const relocated = postgres.dir;
      const stopPg = postgres.stop.bind(postgres);
      postgres.stop = async () => {
        await stopPg();
        fs.rmSync(relocated, { recursive: true, force: true });
      };
    }

    const rest = { redisUrl, postgres, redis, redisCluster, smtp, tmpDir, reaper, stop: stopAll };
    return pgAdminUrl === null ? { ...rest, pgAdminUrl } : { ...rest, pgAdminUrl };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
