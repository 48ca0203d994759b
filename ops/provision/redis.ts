import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isListening, isRoot, Logger, pickPort, redisCommand, REPO_ROOT, run, silent, sleep, tailFile, waitFor, which } from "./util";

export type RedisProvider = { kind: "binary"; path: string } | { kind: "docker" };

async function dockerWorks(): Promise<boolean> {
  if (!which("docker")) return false;
  const info = await run("docker", ["info"], { allowFail: true }).catch(() => null);
  if (!info || info.code !== 0) return false;
  const compose = await run("docker", ["compose", "version"], { allowFail: true }).catch(() => null);
  return !!compose && compose.code === 0;
}

/** apt-get, retrying while another apt/dpkg holds the lock. */
async function aptGet(args: string[], log: Logger): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const r = await run("apt-get", ["-o", "DPkg::Lock::Timeout=60", ...args], {
      allowFail: true,
      stream: (line) => log(`apt: ${line}`),
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.code === 0) return;
    const locked = /lock|Could not get lock|Unable to acquire/i.test(r.stderr + r.stdout);
    if (!locked || Date.now() > deadline) throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.code})`);
    log("apt/dpkg lock is held by another process; waiting…");
    await sleep(5000);
  }
}

/**
 * Where Redis comes from: `redis-server` on PATH; else (root) apt-get install redis-server;
 * else docker compose when a Docker engine runs; else a clear error.
 */
export async function ensureRedisProvider(log: Logger = silent): Promise<RedisProvider> {
  const found = process.env.REDIS_SERVER_BIN || which("redis-server");
  if (found) return { kind: "binary", path: found };
  if (isRoot() && which("apt-get")) {
    log("redis-server not found: installing it with apt-get (Debian package redis-server)");
    await aptGet(["update"], log);
    await aptGet(["install", "-y", "--no-install-recommends", "redis-server"], log);
    const installed = which("redis-server");
    if (installed) return { kind: "binary", path: installed };
  }
  if (await dockerWorks()) return { kind: "docker" };
  throw new Error(
    "Redis 7 is needed but `redis-server` is not on PATH, it cannot be installed with apt-get (not root or no apt), " +
      "and no Docker engine is available. Install Redis (e.g. `apt-get install redis-server` / `brew install redis`) " +
      "or set REDIS_URL to a running Redis 7.",
  );
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** redis-server binary (null when running in docker) */
  bin: string | null;
  pid?: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** data dir (AOF lives here) */
  dir: string;
  port?: number;
  preferredPort?: number;
  /** spawn detached and unref (survives this process: tests' restartRedis) */
  detached?: boolean;
  log?: Logger;
}

export function redisArgs(port: number, dir: string): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
    "--logfile",
    "",
  ];
}

export async function waitRedisReady(port: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await redisCommand(port, "PING")) === "+PONG", `Redis on port ${port}`, timeoutMs, 100);
}

/** Ask the Redis on `port` to shut down (AOF is flushed), and wait until the port is closed. */
export async function shutdownRedisAt(port: number, timeoutMs = 15_000): Promise<void> {
  if (!(await isListening(port))) return;
  await redisCommand(port, "SHUTDOWN").catch(() => {});
  await waitFor(async () => !(await isListening(port)), `Redis on port ${port} to shut down`, timeoutMs, 100);
}

/** Start redis-server as a child process on 127.0.0.1, AOF persistence in `dir`. */
export async function startRedisBinary(bin: string, options: StartRedisOptions): Promise<RedisServer> {
  const log = options.log ?? silent;
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await pickPort(options.preferredPort ?? 6379));
  const logFile = path.join(dir, "redis.log");
  log(`starting Redis (${bin}) on 127.0.0.1:${port}, data in ${dir}`);
  const out = fs.openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(bin, redisArgs(port, dir), { stdio: ["ignore", out, out], detached: true, cwd: dir });
  } finally {
    fs.closeSync(out);
  }
  if (options.detached) child.unref();
  let exited = false;
  child.once("exit", () => (exited = true));
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`redis-server exited:\n${tailFile(logFile)}`);
        return (await redisCommand(port, "PING").catch(() => "")) === "+PONG";
      },
      `Redis on port ${port}`,
      20_000,
      100,
    );
  } catch (err) {
    if (!exited) child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n--- ${logFile} ---\n${tailFile(logFile)}`);
  }
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    bin,
    pid: child.pid,
    logFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exited) return;
      const gone = new Promise<void>((resolve) => (exited ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGTERM"); // redis: flush AOF and exit
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Redis through docker compose (service `redis` of the root docker-compose.yml), published on a host port. */
export async function startRedisDocker(options: StartRedisOptions): Promise<RedisServer> {
  const log = options.log ?? silent;
  const port = options.port ?? (await pickPort(options.preferredPort ?? 6379));
  const project = `commerce-redis-${port}`;
  const env = { ...process.env, REDIS_HOST_PORT: String(port) };
  const args = ["compose", "-f", path.join(REPO_ROOT, "docker-compose.yml"), "-p", project];
  log(`starting Redis with docker compose (project ${project}) on 127.0.0.1:${port}`);
  await run("docker", [...args, "up", "-d", "--wait", "redis"], { env, stream: log });
  await waitRedisReady(port, 60_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: options.dir,
    bin: null,
    logFile: "",
    async stop() {
      await run("docker", [...args, "down", "-v"], { env, allowFail: true });
    },
  };
}

export async function startRedis(options: StartRedisOptions): Promise<RedisServer> {
  const provider = await ensureRedisProvider(options.log);
  if (provider.kind === "binary") return startRedisBinary(provider.path, options);
  return startRedisDocker(options);
}
