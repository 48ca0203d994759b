import { ChildProcess, spawn } from "node:child_process";
import Redis from "ioredis";
import fs from "node:fs";
import path from "node:path";
import { ensureRedisProvider, redisArgs } from "./redis";
import { freePort, Logger, redisCommand, run, silent, tailFile, waitFor, which } from "./util";

/** One redis-server of a local cluster. */
export interface ClusterNode {
  port: number;
  dir: string;
  pid?: number;
}

export interface RedisClusterServer {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…`: what `REDIS_URL` takes to use the cluster. */
  url: string;
  /** `127.0.0.1:p1,…`: the same seeds as `REDIS_CLUSTER_NODES` takes them. */
  seeds: string;
  nodes: ClusterNode[];
  /** The ports of the current masters, and of each master's replicas. */
  topology(): Promise<{ master: number; replicas: number[] }[]>;
  /** The port of the master serving `key` now (e.g. a stream's, to fail it over). */
  masterOf(key: string): Promise<number>;
  /** Promotes a replica of the master on `masterPort` with `CLUSTER FAILOVER` (no data lost); resolves when it serves. */
  failover(masterPort: number): Promise<number>;
  /** SIGKILLs the node on `port`. */
  kill(port: number): void;
  /** Starts the node on `port` again with its data and its `nodes.conf`: it rejoins as a replica if it was replaced. */
  restart(port: number): Promise<void>;
  /** Resolves when every live node reports `cluster_state:ok` and every slot has a master. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  dir: string;
  masters?: number;
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a silent master stays master before its replica is elected. */
  nodeTimeoutMs?: number;
  log?: Logger;
}

function clusterArgs(port: number, dir: string, nodeTimeoutMs: number): string[] {
  return [
    ...redisArgs(port, dir),
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    String(nodeTimeoutMs),
    // A lone surviving replica may serve its slots while the rest of the cluster is unreachable.
    "--cluster-require-full-coverage",
    "no",
    // A replica's first sync starts at once: the default 5 s wait outlasts its 5 s PSYNC timeout, and a
    // replica that never synced cannot be elected.
    "--repl-diskless-sync-delay",
    "0",
  ];
}

/** One command to the node on `port`, on a connection of its own (the reply whole, unlike `redisCommand`). */
async function nodeCommand(port: number, ...args: string[]): Promise<string> {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return String(await redis.call(args[0]!, ...args.slice(1)));
  } finally {
    redis.disconnect();
  }
}

/** `CLUSTER NODES` of the node on `port`, parsed. */
async function clusterNodes(
  port: number,
): Promise<{ id: string; port: number; master: boolean; masterId: string; failed: boolean; slots: [number, number][] }[]> {
  const text = await nodeCommand(port, "CLUSTER", "NODES");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...ranges] = line.split(" ");
      // Served slots are `from-to` or one `slot`; `[slot->-id]` marks a slot being migrated.
      const slots = ranges
        .filter((range) => !range.startsWith("["))
        .map((range) => range.split("-").map(Number))
        .map(([from, to]) => [from!, to ?? from!] as [number, number]);
      return {
        slots,
        id: id!,
        port: Number(address!.split("@")[0]!.split(":").pop()),
        master: flags!.split(",").includes("master"),
        masterId: masterId!,
        failed: /fail|noaddr/.test(flags!),
      };
    });
}

/**
 * A real local Redis Cluster: `masters` masters with `replicasPerMaster` replicas each, every node a
 * redis-server child process on 127.0.0.1 with AOF in its own directory, joined by `redis-cli --cluster create`.
 */
export async function startRedisCluster(options: StartRedisClusterOptions): Promise<RedisClusterServer> {
  const log = options.log ?? silent;
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const provider = await ensureRedisProvider(log);
  if (provider.kind !== "binary") throw new Error("a local Redis Cluster needs the redis-server binary");
  const bin = provider.path;
  const cli = process.env.REDIS_CLI_BIN || which("redis-cli") || path.join(path.dirname(bin), "redis-cli");
  if (!fs.existsSync(cli)) throw new Error(`redis-cli is needed to create a cluster (not found next to ${bin})`);

  const children = new Map<number, ChildProcess>();
  const nodes: ClusterNode[] = [];
  const spawnNode = async (node: ClusterNode) => {
    const logFile = path.join(node.dir, "redis.log");
    const out = fs.openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(bin, clusterArgs(node.port, node.dir, nodeTimeoutMs), { stdio: ["ignore", out, out], cwd: node.dir });
    } finally {
      fs.closeSync(out);
    }
    node.pid = child.pid;
    children.set(node.port, child);
    let exited = false;
    child.once("exit", () => {
      exited = true;
      if (children.get(node.port) === child) children.delete(node.port);
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`redis-server (cluster node ${node.port}) exited:\n${tailFile(logFile)}`);
        return (await redisCommand(node.port, "PING").catch(() => "")) === "+PONG";
      },
      `cluster node on port ${node.port}`,
      20_000,
      50,
    );
  };

  // Children die with this process, whatever ends it.
  const reap = () => children.forEach((child) => child.kill("SIGKILL"));
  process.once("exit", reap);

  const stop = async () => {
    process.removeListener("exit", reap);
    const running = [...children.values()];
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
  };

  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i += 1) {
      const port = await freePort();
      const dir = path.join(path.resolve(options.dir), `node-${port}`);
      fs.mkdirSync(dir, { recursive: true });
      const node = { port, dir };
      nodes.push(node);
      await spawnNode(node);
    }
    log(`creating a Redis Cluster of ${masters} masters × ${replicasPerMaster} replicas on ports ${nodes.map((n) => n.port).join(", ")}`);
    const created = await run(
      cli,
      ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"],
      { allowFail: true },
    );
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }

  const alive = () => nodes.filter((n) => children.has(n.port));
  const topology = async () => {
    const seen = await clusterNodes(alive()[0]!.port);
    const live = seen.filter((n) => !n.failed);
    return live.filter((n) => n.master).map((m) => ({ master: m.port, replicas: live.filter((r) => r.masterId === m.id).map((r) => r.port) }));
  };
  const waitHealthy = async (timeoutMs = 30_000) => {
    await waitFor(
      async () => {
        for (const node of alive()) {
          const info = await nodeCommand(node.port, "CLUSTER", "INFO").catch(() => "");
          if (!info.includes("cluster_state:ok")) return false;
        }
        // Every node sees the same masters, all of them running processes.
        const views = await Promise.all(alive().map((n) => clusterNodes(n.port).catch(() => [])));
        const masterSets = views.map((view) =>
          view
            .filter((n) => n.master && !n.failed)
            .map((n) => n.port)
            .sort()
            .join(","),
        );
        const live = new Set(alive().map((n) => String(n.port)));
        const agreed = masterSets.every((set) => set === masterSets[0]);
        const ports = masterSets[0]!.split(",");
        if (!agreed || ports.length !== masters || !ports.every((port) => live.has(port))) return false;
        // and every live replica is in sync with its master (one that is not cannot take over)
        const replicas = alive().filter((n) => !ports.includes(String(n.port)));
        const links = await Promise.all(replicas.map((n) => nodeCommand(n.port, "INFO", "replication").catch(() => "")));
        if (!links.every((info) => info.includes("master_link_status:up"))) return false;
        // and each master counts them online: until then its WAIT counts no replica
        for (const { master, replicas: own } of await topology()) {
          const info = await nodeCommand(master, "INFO", "replication").catch(() => "");
          const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
          if (online < own.filter((port) => live.has(String(port))).length) return false;
        }
        return true;
      },
      "the Redis Cluster to be healthy",
      timeoutMs,
      100,
    );
  };
  await waitHealthy(60_000).catch(async (err) => {
    await stop();
    throw err;
  });

  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(","),
    nodes,
    topology,
    waitHealthy,
    async masterOf(key) {
      const port = alive()[0]!.port;
      const slot = Number(await nodeCommand(port, "CLUSTER", "KEYSLOT", key));
      const master = (await clusterNodes(port)).find((n) => n.master && !n.failed && n.slots.some(([from, to]) => from <= slot && slot <= to));
      if (!master) throw new Error(`no master serves slot ${slot} of ${key}`);
      return master.port;
    },
    async failover(masterPort) {
      const group = (await topology()).find((g) => g.master === masterPort);
      const replica = group?.replicas[0];
      if (!replica) throw new Error(`no live replica of the master on ${masterPort}`);
      const reply = await nodeCommand(replica, "CLUSTER", "FAILOVER");
      if (reply !== "OK") throw new Error(`CLUSTER FAILOVER on ${replica}: ${reply}`);
      await waitFor(async () => (await topology()).some((g) => g.master === replica), `replica ${replica} to become master`, 30_000, 100);
      await waitHealthy();
      return replica;
    },
    kill(port) {
      children.get(port)?.kill("SIGKILL");
      children.delete(port);
    },
    async restart(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on ${port}`);
      if (children.has(port)) return;
      await spawnNode(node);
    },
    stop,
  };
}
