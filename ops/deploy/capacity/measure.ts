/**
 * The measurements behind docs/SCALING.md: what one order costs each component, and what one Redis and
 * one Postgres of this machine sustain.
 *
 *   node -r @swc-node/register ops/deploy/capacity/measure.ts
 *
 * Starts the whole platform as `npm run bench -- saga` does (ops/bench/lib/platform.ts: durable commits,
 * child processes on this machine), then:
 *   1. an idle window (no orders): the background cost per second (polls, sweeps, blocking reads);
 *   2. a load window: CAPACITY_RATE orders/s (default 10) for CAPACITY_SECONDS (40), one line each, then a
 *      grace period until they settle; per order, net of the idle cost: CPU ms per process, Postgres CPU
 *      per service database (its backends and WAL senders, from /proc), SQL statements per service
 *      (db_queries_total), WAL bytes per database (pg_waldump over the window), Redis commands by name and
 *      network bytes (INFO commandstats / stats);
 *   3. reads a customer makes (catalog page, product, own orders, one order): CPU per request per process;
 *   4. ceilings on this machine: bare `pg` transactions (the benches' calibration) and redis-benchmark
 *      XADD / XREADGROUP-sized commands against a fresh redis-server.
 * CAPACITY_REDIS_CLUSTER=1 runs the platform on a local Redis Cluster (three masters, a replica each) and
 * prints the commands and CPU per order of each master, with the streams it holds.
 * Prints figures; never fails on them. The machine is shared: read the load average printed with them.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { rawTxPerSecond } from "../../bench/lib/calibrate";
import { cpuDelta, treeCpuMs } from "../../bench/lib/cpu";
import { openLoop } from "../../bench/lib/open-loop";
import { sqlStatements, startBenchPlatform, type BenchPlatform } from "../../bench/lib/platform";
import { consumerLag, orderStatuses } from "../../bench/lib/saga-timeline";
import { createRedis, streamKey, type RedisClient } from "@commerce/streams";
import { setUpShop, type Shop } from "../../bench/lib/shop";
import { loadAverage } from "../../bench/lib/stats";
import { runBench } from "../../bench/lib/run";
import { freePort, GraphQLClient, startRedis, startRedisCluster } from "../../provision";

const RATE = Number(process.env.CAPACITY_RATE ?? 10);
const SECONDS = Number(process.env.CAPACITY_SECONDS ?? 40);
const IDLE_SECONDS = Number(process.env.CAPACITY_IDLE_SECONDS ?? 20);
const READ_SECONDS = Number(process.env.CAPACITY_READ_SECONDS ?? 10);
const READ_RATE = Number(process.env.CAPACITY_READ_RATE ?? 40);
const PRICE = 100;
const PRODUCERS = ["user", "product", "order", "payment", "notification"];
/** CAPACITY_REDIS_CLUSTER=1: the platform on a local Redis Cluster (3 masters), commands and CPU per master. */
const CLUSTER = process.env.CAPACITY_REDIS_CLUSTER === "1";
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;
const CATALOG_PAGE = `{ products(first: 10) { edges { node { id name price { amount currency } available } } } }`;
const PRODUCT = `query($id: ID!) { product(id: $id) { id name description price { amount currency } available } }`;
const productVariables = (shop: Shop, i: number) => ({ id: shop.productIds[i % shop.productIds.length] });
/** Reads a customer makes; `anonymous`: without a token (the gateway's catalog cache answers those); `order`: one of the customer's orders. */
const READS: Record<string, { query: string; variables?: (shop: Shop, i: number) => Record<string, unknown>; order?: boolean; anonymous?: boolean }> =
  {
    "catalog page (10 products), anonymous": { query: CATALOG_PAGE, anonymous: true },
    "product(id), anonymous": { query: PRODUCT, variables: productVariables, anonymous: true },
    "catalog page (10 products), signed in": { query: CATALOG_PAGE },
    "product(id), signed in": { query: PRODUCT, variables: productVariables },
    "own orders (10, with items)": {
      query: `{ orders(first: 10) { edges { node { id status total { amount } items { quantity product { name } } } } } }`,
    },
    "order(id) status": {
      query: `query($id: ID!) { order(id: $id) { id status statusHistory { status at } } }`,
      order: true,
    },
  };

const say = (line: string) => console.log(`[capacity ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PG_BIN = path.dirname(
  fs.realpathSync(spawnSync("sh", ["-c", "command -v postgres"], { encoding: "utf8" }).stdout.trim() || "/usr/local/bin/postgres"),
);

interface Snapshot {
  at: number;
  cpu: Record<string, number>;
  /** Postgres processes (backends and WAL senders by database) */
  pg: Map<number, { database: string; cpuMs: number }>;
  statements: Record<string, number>;
  lsn: string;
  walBytes: number;
  /** per Redis node read (one server, or each master of a cluster) */
  redis: Record<string, NodeStats>;
}

interface NodeStats {
  calls: Record<string, { calls: number; usec: number }>;
  input: number;
  output: number;
  cpuMs: number;
}

/** A Redis server whose counters are read: the platform's one, or a master of the cluster. */
interface RedisNode {
  name: string;
  client: RedisClient;
  pid?: number;
}

async function nodeStats(node: RedisNode): Promise<NodeStats> {
  const calls: NodeStats["calls"] = {};
  for (const m of (await node.client.info("commandstats")).matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm))
    calls[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
  const info = await node.client.info("stats");
  const num = (key: string) => Number(new RegExp(`^${key}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
  return { calls, input: num("total_net_input_bytes"), output: num("total_net_output_bytes"), cpuMs: node.pid ? procCpuMs(node.pid) : 0 };
}

async function pgQuery<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function procCpuMs(pid: number): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** CPU ms of each live Postgres process, and the database it serves ("(server)" for background processes). */
async function postgresProcesses(platform: BenchPlatform): Promise<Map<number, { database: string; cpuMs: number }>> {
  const rows = await pgQuery<{ pid: number; datname: string | null }>(platform.pgAdminUrl, "select pid, datname from pg_stat_activity");
  const database = new Map(rows.map((r) => [r.pid, r.datname]));
  const root = platform.pids().postgres!;
  return new Map([root, ...descendants(root)].map((pid) => [pid, { database: database.get(pid) ?? "(server)", cpuMs: procCpuMs(pid) }]));
}

/**
 * Postgres CPU by database between two snapshots: each process's share (processes alive at the end; a
 * backend that exited meanwhile is missed), scaled to the server's whole CPU (reaped backends included).
 */
function postgresCpuByDatabase(a: Snapshot, b: Snapshot): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const [pid, now] of b.pg) shares[now.database] = (shares[now.database] ?? 0) + now.cpuMs - (a.pg.get(pid)?.cpuMs ?? 0);
  const sum = Object.values(shares).reduce((x, y) => x + y, 0);
  const total = (b.cpu.postgres ?? 0) - (a.cpu.postgres ?? 0);
  return Object.fromEntries(Object.entries(shares).map(([db, ms]) => [db, sum > 0 ? (ms / sum) * total : 0]));
}

async function snapshot(platform: BenchPlatform, nodes: RedisNode[]): Promise<Snapshot> {
  const [{ lsn, wal_bytes }] = await pgQuery<{ lsn: string; wal_bytes: string }>(
    platform.pgAdminUrl,
    "select pg_current_wal_insert_lsn()::text as lsn, (select wal_bytes from pg_stat_wal)::text as wal_bytes",
  );
  return {
    at: Date.now(),
    cpu: treeCpuMs(platform.pids()),
    pg: await postgresProcesses(platform),
    statements: await sqlStatements(platform),
    lsn: lsn!,
    walBytes: Number(wal_bytes),
    redis: Object.fromEntries(await Promise.all(nodes.map(async (node) => [node.name, await nodeStats(node)] as const))),
  };
}

interface Window {
  seconds: number;
  cpu: Record<string, number>;
  pgCpu: Record<string, number>;
  statements: Record<string, number>;
  walBytes: number;
  redisCalls: Record<string, number>;
  redisUsec: number;
  redisNet: { input: number; output: number };
  /** commands by name and CPU ms of each node read */
  redisNodes: Record<string, { calls: Record<string, number>; cpuMs: number }>;
}

function diff(a: Snapshot, b: Snapshot): Window {
  const calls: Record<string, number> = {};
  const net = { input: 0, output: 0 };
  const redisNodes: Window["redisNodes"] = {};
  let usec = 0;
  for (const [node, after] of Object.entries(b.redis)) {
    const before = a.redis[node];
    const nodeCalls: Record<string, number> = {};
    for (const [name, v] of Object.entries(after.calls)) {
      const was = before?.calls[name] ?? { calls: 0, usec: 0 };
      if (v.calls > was.calls) nodeCalls[name] = v.calls - was.calls;
      calls[name] = (calls[name] ?? 0) + (nodeCalls[name] ?? 0);
      usec += v.usec - was.usec;
    }
    net.input += after.input - (before?.input ?? 0);
    net.output += after.output - (before?.output ?? 0);
    redisNodes[node] = { calls: nodeCalls, cpuMs: after.cpuMs - (before?.cpuMs ?? 0) };
  }
  return {
    seconds: (b.at - a.at) / 1000,
    cpu: cpuDelta(a.cpu, b.cpu),
    pgCpu: postgresCpuByDatabase(a, b),
    statements: cpuDelta(a.statements, b.statements),
    walBytes: b.walBytes - a.walBytes,
    redisCalls: calls,
    redisUsec: usec,
    redisNet: net,
    redisNodes,
  };
}

/** `window - idle × its duration`, per `orders`. */
function perOrder(values: Record<string, number>, idle: Record<string, number>, idleSeconds: number, seconds: number, orders: number) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) out[k] = (v - ((idle[k] ?? 0) / idleSeconds) * seconds) / orders;
  return out;
}

/** WAL bytes written by each database between two LSNs (pg_waldump; a transaction's commit record counts for its database). */
function walByDatabase(dataDir: string, from: string, to: string, names: Map<string, string>): Record<string, number> {
  const result = spawnSync(path.join(PG_BIN, "pg_waldump"), ["-p", path.join(dataDir, "pg_wal"), "-s", from, "-e", to], {
    encoding: "utf8",
    maxBuffer: 1024 ** 3,
  });
  const byTx = new Map<string, string>();
  const lines = result.stdout.split("\n");
  for (const line of lines) {
    const db = / rel \d+\/(\d+)\//.exec(line)?.[1];
    const tx = /tx:\s+(\d+)/.exec(line)?.[1];
    if (db && db !== "0" && tx && tx !== "0") byTx.set(tx, db);
  }
  const out: Record<string, number> = {};
  for (const line of lines) {
    const len = /len \(rec\/tot\):\s*\d+\/\s*(\d+)/.exec(line)?.[1];
    if (!len) continue;
    const tx = /tx:\s+(\d+)/.exec(line)?.[1];
    const oid = / rel \d+\/(\d+)\//.exec(line)?.[1] ?? (tx ? byTx.get(tx) : undefined);
    const name = (oid && oid !== "0" && names.get(oid)) || "(server: checkpoints, running xacts, shared catalogs)";
    out[name] = (out[name] ?? 0) + Number(len);
  }
  return out;
}

function place(shop: Shop, i: number, ids: string[], errors: string[], pending: Promise<void>[], owners?: Map<string, number>): void {
  const who = i % shop.customers.length;
  const customer = shop.customers[who]!;
  const productId = shop.productIds[i % shop.productIds.length]!;
  pending.push(
    customer.client.raw<{ placeOrder: { id: string } }>(PLACE, { input: { items: [{ productId, quantity: 1 }] } }).then(
      (body) => {
        if (body.data?.placeOrder) {
          ids.push(body.data.placeOrder.id);
          owners?.set(body.data.placeOrder.id, who);
        } else errors.push(body.errors?.[0]?.message ?? "no data");
      },
      (error: Error) => void errors.push(error.message),
    ),
  );
}

const fmt = (record: Record<string, number>, digits = 2) =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
    .join(", ");

/** redis-benchmark's rate, and the redis-server CPU per request (µs, from /proc): a core's worth is the ceiling. */
function redisBenchmark(port: number, pid: number, requests: number, args: string[]): string {
  const before = procCpuMs(pid);
  const result = spawnSync("redis-benchmark", ["-p", String(port), "-q", "-n", String(requests), ...args], { encoding: "utf8" });
  const cpuUs = ((procCpuMs(pid) - before) * 1000) / requests;
  const rates = (result.stdout + result.stderr)
    .split(/\r|\n/)
    .flatMap((l) => /([\d.]+) requests per second/.exec(l)?.[1] ?? [])
    .join(" / ");
  return `${rates} requests/s; server CPU ${cpuUs.toFixed(1)} µs per request → ${Math.round(1e6 / cpuUs)}/s per core`;
}

async function ceilings(platform: BenchPlatform): Promise<void> {
  const pgBefore = treeCpuMs(platform.pids()).postgres ?? 0;
  const [{ wal: walBefore }] = await pgQuery<{ wal: string }>(platform.pgAdminUrl, "select wal_bytes::text as wal from pg_stat_wal");
  const tx = await rawTxPerSecond(platform.pgAdminUrl);
  const pgMs = (treeCpuMs(platform.pids()).postgres ?? 0) - pgBefore;
  const [{ wal: walAfter }] = await pgQuery<{ wal: string }>(platform.pgAdminUrl, "select wal_bytes::text as wal from pg_stat_wal");
  say(
    `ceiling, Postgres: bare pg INSERT transactions (begin, insert, commit), 8 clients, 2 s: ${tx} tx/s; server CPU ${((pgMs * 1000) / (tx * 2)).toFixed(0)} µs per transaction, WAL ${((Number(walAfter) - Number(walBefore)) / 2 / 1024 ** 2).toFixed(2)} MiB/s (${await loadAverage()})`,
  );
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capacity-redis-"));
  const server = await startRedis({ port, dir }).catch(() => null);
  if (!server) {
    say("ceiling, Redis: could not start a redis-server");
    return;
  }
  try {
    const payload = "x".repeat(600);
    const pid = server.pid!;
    const run = (requests: number, args: string[]) => redisBenchmark(port, pid, requests, ["-c", "50", ...args]);
    say(`ceiling, Redis (one redis-server, AOF every second), 50 clients (${await loadAverage()}):`);
    say(`  XADD ~600-byte entry, one per round trip: ${run(100_000, ["XADD", "s:{a}", "MAXLEN", "~", "100000", "*", "payload", payload])}`);
    say(`  XADD ~600-byte entry, pipelines of 16: ${run(400_000, ["-P", "16", "XADD", "s:{b}", "MAXLEN", "~", "100000", "*", "payload", payload])}`);
    say(`  GET, one per round trip: ${run(100_000, ["GET", "k:{c}"])}`);
    say(
      `  a 2-key Lua script (INCR + PEXPIRE), one per round trip: ${run(100_000, ["EVAL", "redis.call('INCR', KEYS[1]); return redis.call('PEXPIRE', KEYS[1], 60000)", "1", "rl:{k}"])}`,
    );
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`${await loadAverage()}; ${os.cpus().length} cores`);
  const perCustomer = Math.ceil((RATE * SECONDS + 200) / 100);
  const clusterDir = CLUSTER ? fs.mkdtempSync(path.join(os.tmpdir(), "capacity-cluster-")) : null;
  const cluster = clusterDir ? await startRedisCluster({ dir: clusterDir, masters: 3, replicasPerMaster: 1 }) : null;
  if (cluster) say(`Redis Cluster of 3 masters with a replica each: ${cluster.seeds}`);
  const platform = await startBenchPlatform({
    durable: true,
    env: {
      // every process of the platform on the cluster (REDIS_CLUSTER_NODES wins over REDIS_URL)
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.seeds } : {}),
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: "1000000",
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      WALLET_OPENING_BALANCE: String(perCustomer * PRICE * 4),
      SAGA_DEADLINE_MS: "600000",
      ACCESS_TOKEN_TTL: "86400",
    },
    log: say,
  });
  const redis = createRedis(cluster ? cluster.url : platform.redisUrl);
  const nodes: RedisNode[] = cluster
    ? (await cluster.topology()).map(({ master }) => ({
        name: `:${master}`,
        client: createRedis(`redis://127.0.0.1:${master}`),
        pid: cluster.nodes.find((n) => n.port === master)?.pid,
      }))
    : [{ name: "redis", client: redis, pid: platform.pids().redis }];
  try {
    const shop = await setUpShop(platform.gatewayUrl, {
      products: 50,
      customers: 100,
      stockPerProduct: 10_000_000,
      price: PRICE,
      minBalance: perCustomer * PRICE,
      log: say,
    });
    const [{ data_directory }] = await pgQuery<{ data_directory: string }>(platform.pgAdminUrl, "show data_directory");
    const oids = new Map(
      (await pgQuery<{ oid: string; datname: string }>(platform.pgAdminUrl, "select oid::text, datname from pg_database")).map((r) => [
        r.oid,
        r.datname,
      ]),
    );

    say("warm-up: 10 orders/s for 5 s");
    const warm: string[] = [];
    const warmPending: Promise<void>[] = [];
    await openLoop(10, 5_000, (i) => place(shop, i, warm, [], warmPending));
    await Promise.all(warmPending);
    await sleep(5_000);

    say(`idle window: ${IDLE_SECONDS} s without orders (${await loadAverage()})`);
    const idleStart = await snapshot(platform, nodes);
    await sleep(IDLE_SECONDS * 1000);
    const idle = diff(idleStart, await snapshot(platform, nodes));
    const perSecond = (v: Record<string, number>) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x / idle.seconds]));
    console.log(`idle, per second: CPU ms ${fmt(perSecond(idle.cpu), 1)}`);
    console.log(`  Postgres CPU ms by database: ${fmt(perSecond(idle.pgCpu), 1)}`);
    console.log(`  Redis commands: ${fmt(perSecond(idle.redisCalls), 1)}; WAL ${(idle.walBytes / idle.seconds / 1024).toFixed(1)} KiB/s`);

    say(`load window: ${RATE} orders/s for ${SECONDS} s (${await loadAverage()})`);
    const ids: string[] = [];
    const errors: string[] = [];
    const pending: Promise<void>[] = [];
    const owners = new Map<string, number>();
    // entries-added counts every XADD, whatever the trimmer removed since
    const added = async (producer: string) => {
      const info = (await redis.call("XINFO", "STREAM", streamKey(platform.streamPrefix, producer)).catch(() => [])) as unknown[];
      const at = info.indexOf("entries-added");
      return at >= 0 ? Number(info[at + 1]) : 0;
    };
    const streamLengths = async () => Object.fromEntries(await Promise.all(PRODUCERS.map(async (p) => [p, await added(p)] as const)));
    const lengthsBefore = await streamLengths();
    const loadStart = await snapshot(platform, nodes);
    await openLoop(RATE, SECONDS * 1000, (i) => place(shop, i, ids, errors, pending, owners));
    await Promise.all(pending);
    // settle: every order leaves PENDING/STOCK_RESERVED (one cheap query a second on the order database)
    const deadline = Date.now() + 120_000;
    for (;;) {
      const statuses = await orderStatuses(platform.adminUrls.order, ids);
      if (ids.every((id) => !["PENDING", "STOCK_RESERVED"].includes(statuses.get(id) ?? "PENDING")) || Date.now() > deadline) break;
      await sleep(1_000);
    }
    await sleep(3_000); // notifications and the last acks
    const load = diff(loadStart, await snapshot(platform, nodes));
    const statuses = await orderStatuses(platform.adminUrls.order, ids);
    const outcome: Record<string, number> = {};
    for (const id of ids) outcome[statuses.get(id) ?? "?"] = (outcome[statuses.get(id) ?? "?"] ?? 0) + 1;
    const n = ids.length;
    const per = (v: Record<string, number>, i: Record<string, number>) => perOrder(v, i, idle.seconds, load.seconds, n);
    console.log(
      `load: ${n} orders in a ${load.seconds.toFixed(0)} s window (${fmt(outcome, 0)}; ${errors.length} errors${errors.length ? `, first: ${errors[0]}` : ""})`,
    );
    console.log(`  per order, net of the idle cost:`);
    console.log(`  CPU ms by process: ${fmt(per(load.cpu, idle.cpu))}`);
    console.log(`  Postgres CPU ms by database: ${fmt(per(load.pgCpu, idle.pgCpu))}`);
    const st = per(load.statements, idle.statements);
    console.log(
      `  SQL statements by service: ${fmt(st, 1)}; total ${Object.values(st)
        .reduce((a, b) => a + b, 0)
        .toFixed(1)}`,
    );
    const wal = walByDatabase(data_directory!, loadStart.lsn, (await snapshot(platform, nodes)).lsn, oids);
    console.log(
      `  WAL bytes by database (pg_waldump, not net of idle): ${fmt(Object.fromEntries(Object.entries(wal).map(([k, v]) => [k, v / n])), 0)}`,
    );
    console.log(`  WAL bytes total (pg_stat_wal): ${(load.walBytes / n).toFixed(0)} (idle ${(idle.walBytes / idle.seconds).toFixed(0)} B/s)`);
    const lengthsAfter = await streamLengths();
    const groups = await consumerLag(redis, platform.streamPrefix, PRODUCERS);
    console.log(
      `  stream entries per order, and the groups reading each stream: ${PRODUCERS.map(
        (p) =>
          `${p} ${((lengthsAfter[p]! - lengthsBefore[p]!) / n).toFixed(2)} × [${groups
            .filter((g) => g.stream === p)
            .map((g) => g.group)
            .join(", ")}]`,
      ).join("; ")}`,
    );
    const calls = per(load.redisCalls, idle.redisCalls);
    console.log(
      `  Redis commands by name: ${fmt(calls)}; total ${Object.values(calls)
        .reduce((a, b) => a + b, 0)
        .toFixed(1)}`,
    );
    console.log(
      `  Redis: ${((load.redisUsec - (idle.redisUsec / idle.seconds) * load.seconds) / n / 1000).toFixed(3)} ms executing commands; network in ${((load.redisNet.input - (idle.redisNet.input / idle.seconds) * load.seconds) / n).toFixed(0)} B, out ${((load.redisNet.output - (idle.redisNet.output / idle.seconds) * load.seconds) / n).toFixed(0)} B`,
    );

    if (cluster) {
      const streamsOn = new Map<string, string[]>();
      for (const p of PRODUCERS) {
        const at = `:${await cluster.masterOf(streamKey(platform.streamPrefix, p))}`;
        streamsOn.set(at, [...(streamsOn.get(at) ?? []), p]);
      }
      for (const [node, w] of Object.entries(load.redisNodes)) {
        const idleNode = idle.redisNodes[node] ?? { calls: {}, cpuMs: 0 };
        const nodeCalls = per(w.calls, idleNode.calls);
        const cpu = (w.cpuMs - (idleNode.cpuMs / idle.seconds) * load.seconds) / n;
        console.log(
          `  master ${node} (streams: ${(streamsOn.get(node) ?? []).join(", ") || "none"}): ${Object.values(nodeCalls)
            .reduce((a, b) => a + b, 0)
            .toFixed(1)} commands per order (${fmt(nodeCalls)}); CPU ${cpu.toFixed(2)} ms per order`,
        );
      }
    }
    await sleep(5_000); // the last notifications and acks before the reads are counted
    const anonymous = new GraphQLClient(platform.gatewayUrl);
    for (const [name, read] of Object.entries(READS)) {
      const ownOrder = new Map([...owners].map(([id, who]) => [who, id]));
      const readPending: Promise<void>[] = [];
      let failed = 0;
      let firstError = "";
      const before = treeCpuMs(platform.pids());
      const loop = await openLoop(READ_RATE, READ_SECONDS * 1000, (i) => {
        const who = i % shop.customers.length;
        const client = read.anonymous ? anonymous : shop.customers[who]!.client;
        const variables = read.order ? { id: ownOrder.get(who) ?? ids[0] } : (read.variables?.(shop, i) ?? {});
        readPending.push(
          client.raw(read.query, variables).then(
            (body) => {
              if (!body.errors) return;
              failed += 1;
              firstError ||= `${body.errors[0]?.extensions?.code ?? ""} ${body.errors[0]?.message}`;
            },
            (error: Error) => {
              failed += 1;
              firstError ||= error.message;
            },
          ),
        );
      });
      await Promise.all(readPending);
      await sleep(500);
      const cpu = cpuDelta(before, treeCpuMs(platform.pids()));
      const count = Math.round((READ_RATE * loop.elapsedMs) / 1000);
      const net = perOrder(cpu, idle.cpu, idle.seconds, loop.elapsedMs / 1000 + 0.5, count);
      console.log(
        `read "${name}" at ${READ_RATE}/s: ${failed} failed${firstError ? ` (first: ${firstError})` : ""}; CPU ms per request: ${fmt(net)}`,
      );
    }
    await ceilings(platform);
    console.log(`${await loadAverage()}`);
  } finally {
    redis.disconnect();
    for (const node of nodes) if (node.client !== redis) node.client.disconnect();
    await cluster?.stop();
    if (clusterDir) fs.rmSync(clusterDir, { recursive: true, force: true });
    await platform.stop();
  }
}

runBench(main);
