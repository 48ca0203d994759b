/**
 * A fault drill: the platform with replicas (see cluster.ts) takes orders continuously while faults
 * are injected one after another: SIGKILL of each subgraph replica in turn (restarted at once), of a
 * gateway (clients fail over to the other), a Redis restart (on a Redis Cluster: a master failed over,
 * another killed -9 and brought back as a replica) and a Postgres crash-restart. Then the
 * drill waits (bounded) for every order to reach the state it must end in, and checks the books:
 * `reconcile()` must find nothing, no order may be lost, no effect may have happened twice.
 */
import { Client } from "pg";
import { setTimeout as sleep } from "node:timers/promises";
import { createRedis, dlqKey, streamKey } from "@commerce/streams";
import { SERVICES } from "../provision/platform";
import { reconcile, type Violation } from "../commands/reconcile";
import { formatStory, orderStory } from "../commands/saga";
import { FailoverClient } from "./client";
import { startCluster, type Cluster } from "./cluster";
import { CANCEL_REASON, runWorkload, setUpShop, type PlacedOrder, type Shop } from "./workload";

export interface DrillOptions {
  /** how long faults are injected while orders flow */
  durationMs: number;
  /** bound for every order to reach its final state once the faults stop */
  settleMs?: number;
  /** how many faults (default: one per replica, each gateway, Redis and Postgres, repeated to fill the duration) */
  faults?: number;
  workers?: number;
  /** run on a local Redis Cluster (3 masters, a replica each) instead of one Redis */
  redisCluster?: boolean;
  /** these faults instead of the rotation, e.g. `["failover redis", "kill redis-master"]` */
  plan?: string[];
  /** processes per subgraph (default 2) and gateways (default 2) */
  replicas?: number;
  gateways?: number;
  log?: (line: string) => void;
}

export interface DrillReport {
  /** what Redis was: `one Redis` or `Redis Cluster` */
  redis: string;
  ordersPlaced: number;
  faultsInjected: number;
  faults: string[];
  /** placements that never got an order, orders unknown to the database, or not in a final state after settleMs */
  ordersLost: number;
  /** effects that happened twice (reconcile's duplicate-* checks, and stock committed twice) */
  duplicatedEffects: number;
  /** final state not the one the workload's intent allows (e.g. a rich customer's PAYMENT_FAILED, an expired saga) */
  wrongOutcomes: number;
  deadLetters: number;
  /** returns the workload started, and those that ended REFUNDED with the refund they were due */
  returns: { attempted: number; refunded: number };
  violations: Violation[];
  states: Record<string, number>;
  clientRetries: number;
  problems: string[];
  /** `npm run saga` output of the first few orders that went wrong, to start the diagnosis from */
  stories: string[];
  logDir: string;
}

// SHIPPED: only the returns worker ships, and a returned order stays SHIPPED.
const FINAL = new Set(["CONFIRMED", "SHIPPED", "CANCELLED", "PAYMENT_FAILED", "OUT_OF_STOCK"]);

/**
 * The fault rotation: replica 1 of every subgraph, a gateway, Redis (on a cluster: a master failed over,
 * then a master killed), Postgres; then replica 2…, and around again.
 */
function faultPlan(cluster: Cluster, count: number): string[] {
  const rounds = Math.max(...cluster.replicas.map((r) => Number(r.name.split("-").pop())));
  const one: string[] = [];
  for (let i = 1; i <= rounds; i += 1) {
    one.push(...SERVICES.map((svc) => `kill ${svc}-${i}`), `kill gateway-${i}`);
    if (i === 1) one.push(...(cluster.redisCluster ? ["failover redis", "kill redis-master"] : ["restart redis"]), "restart postgres");
  }
  return Array.from({ length: count }, (_, i) => one[i % one.length]);
}

/**
 * Starts a killed process again the way Kubernetes would: a start that fails (a subgraph exits when
 * its database is down at start-up, e.g. during the Postgres restart) is retried with backoff.
 */
async function supervise(cluster: Cluster, name: string, log: (l: string) => void, attempts = 6): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await cluster.start(name);
    } catch (error) {
      if (attempt >= attempts) throw error;
      log(`  ${name} failed to start (attempt ${attempt}); restarting it like a crash-looping pod`);
      await sleep(1000 * attempt);
    }
  }
}

/** Restarts under way, by service: a service never loses its last live replica to the drill. */
type Restarts = Map<string, Promise<void>>;

async function inject(cluster: Cluster, fault: string, restarts: Restarts, log: (l: string) => void): Promise<void> {
  const [verb, target] = fault.split(" ");
  if (fault === "failover redis") {
    // the master of the order stream: every saga passes through it
    log(`  ${await cluster.failoverRedisMaster(streamKey(cluster.streamPrefix, "order"))}`);
  } else if (fault === "kill redis-master") {
    log(`  ${await cluster.killRedisMaster(streamKey(cluster.streamPrefix, "payment"))}`);
  } else if (verb === "kill") {
    const service = target.replace(/-\d+$/, "");
    await restarts.get(service);
    await cluster.kill(target);
    log(`  SIGKILL ${target}`);
    const back = sleep(500)
      .then(() => supervise(cluster, target, log))
      .then(
        () => log(`  ${target} is back`),
        (e) => log(`  ${target} did not come back: ${(e as Error).message}`),
      );
    restarts.set(service, back);
  } else if (target === "redis") {
    await cluster.restartRedis(1500);
    log("  Redis restarted");
  } else {
    await cluster.restartPostgres(1500);
    log("  Postgres restarted");
  }
}

async function finalStates(cluster: Cluster, ids: string[]): Promise<Map<string, { status: string; reason: string | null }>> {
  const client = new Client({ connectionString: cluster.databases.order });
  await client.connect();
  try {
    // the reason of the latest status change: failure_reason is not set for cancellations
    const { rows } = await client.query(
      `select o.id, o.status, (select c.reason from order_status_changes c where c.order_id = o.id order by c.id desc limit 1) as reason
       from orders o where o.id = any($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id as string, { status: r.status as string, reason: r.reason as string | null }]));
  } finally {
    await client.end();
  }
}

/** Returns of these ids as the order service holds them. */
async function returnStates(cluster: Cluster, ids: string[]): Promise<Map<string, { status: string; refund: number | null }>> {
  const client = new Client({ connectionString: cluster.databases.order });
  await client.connect();
  try {
    const { rows } = await client.query(`select id, status, refund_amount from return_requests where id = any($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id as string, { status: r.status as string, refund: r.refund_amount as number | null }]));
  } finally {
    await client.end();
  }
}

/** Units committed to orders per product, less those returned, must be exactly what left the shelf: a double commit or restock shows. */
async function stockDrift(cluster: Cluster, shop: Shop): Promise<string[]> {
  const client = new Client({ connectionString: cluster.databases.product });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select s.product_id, sum(s.on_hand)::int as on_hand,
              coalesce((select sum((l->>'quantity')::int) from reservations r, jsonb_array_elements(r.lines) l
                        where r.status = 'COMMITTED' and l->>'productId' = s.product_id::text), 0)::int as committed,
              coalesce((select sum((l->>'quantity')::int) from return_restocks r, jsonb_array_elements(r.lines) l
                        where l->>'productId' = s.product_id::text), 0)::int as returned
       from stock_levels s where s.product_id = any($1::uuid[]) group by s.product_id`,
      [Object.keys(shop.initialStock)],
    );
    return rows
      .filter((r) => shop.initialStock[r.product_id] - r.committed + r.returned !== r.on_hand)
      .map(
        (r) =>
          `product ${r.product_id}: onHand ${r.on_hand}, expected ${shop.initialStock[r.product_id]} − ${r.committed} committed + ${r.returned} returned`,
      );
  } finally {
    await client.end();
  }
}

/** Is `status` what this order may end in, given what its customer did? */
function expected(order: PlacedOrder, status: string, reason: string | null): boolean {
  // Taken by the returns worker: shipped, unless shipping itself never got through.
  if (order.returned && (status === "SHIPPED" || status === "CONFIRMED")) return status === "SHIPPED" || order.returned.error !== undefined;
  if (order.cancel === "accepted") return status === "CANCELLED";
  // a retried cancel whose first attempt committed answers CONFLICT: the reason tells it was ours, not an expiry
  if (status === "CANCELLED") return order.cancel !== "none" && (reason ?? "").includes(CANCEL_REASON);
  if (status === "PAYMENT_FAILED") return order.customer.poor;
  if (status === "OUT_OF_STOCK") return order.scarce;
  return status === "CONFIRMED";
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const settleMs = options.settleMs ?? 120_000;
  const started = Date.now();
  const replicas = options.replicas ?? 2;
  const gateways = options.gateways ?? 2;
  log(
    `starting the platform: Postgres, ${options.redisCluster ? "a Redis Cluster" : "Redis"}, ${replicas} replica(s) of each subgraph, ${gateways} gateway(s)…`,
  );
  const cluster = await startCluster({
    redisCluster: options.redisCluster,
    replicas,
    gateways,
    log: (line) => !line.startsWith("mail to") && log(line),
    env: {
      WALLET_OPENING_BALANCE: "6000",
      // the drill's clients all come from 127.0.0.1: per-IP limits are not what is under test here
      RATE_LIMIT_PER_MINUTE: "1000000",
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      AUTH_RATE_LIMIT_PER_MINUTE: "1000000",
      LOG_LEVEL: "warn",
    },
  });
  const problems: string[] = [];
  try {
    log(`platform up in ${((Date.now() - started) / 1000).toFixed(0)} s; setting up the shop`);
    const base = new FailoverClient(cluster.gatewayUrls);
    const shop = await setUpShop(base);
    const plan = options.plan ?? faultPlan(cluster, options.faults ?? Math.max(8, Math.round(options.durationMs / 6000)));
    const gap = options.durationMs / (plan.length + 1);
    let faultsOver = false;
    const workload = runWorkload(shop, { workers: options.workers ?? 3, pauseMs: 150, cancelRate: 0.15, until: () => faultsOver });
    const restarts: Restarts = new Map();
    const done: string[] = [];
    for (const fault of plan) {
      await sleep(gap);
      log(`fault ${done.length + 1}/${plan.length}: ${fault}`);
      await inject(cluster, fault, restarts, log);
      done.push(fault);
    }
    await sleep(gap);
    faultsOver = true;
    const placed = await workload;
    await Promise.all(restarts.values());
    log(`faults over: ${placed.length} orders placed; waiting up to ${settleMs / 1000} s for every saga to finish`);

    const ids = placed.filter((p) => p.id).map((p) => p.id!);
    const deadline = Date.now() + settleMs;
    // Settled: every order final and the compensations that follow (refunds, releases) done as well.
    let states: Awaited<ReturnType<typeof finalStates>>;
    let violations: Violation[] = [];
    const returnIds = placed.map((p) => p.returned?.id).filter((id): id is string => !!id);
    let returned: Awaited<ReturnType<typeof returnStates>>;
    for (;;) {
      states = await finalStates(cluster, ids);
      returned = await returnStates(cluster, returnIds);
      // A received return is settled once its refund landed.
      const allFinal = [...states.values()].every((s) => FINAL.has(s.status)) && [...returned.values()].every((r) => r.status !== "RECEIVED");
      if (allFinal || Date.now() > deadline) violations = await reconcile(cluster.databases, { graceMs: 0 });
      if ((allFinal && violations.length === 0) || Date.now() > deadline) break;
      await sleep(1000);
    }
    log(`settled after ${((Date.now() - deadline + settleMs) / 1000).toFixed(0)} s`);

    let lost = 0;
    let wrong = 0;
    const suspects: string[] = [];
    for (const order of placed) {
      const state = order.id ? states.get(order.id) : undefined;
      if (state && FINAL.has(state.status) && expected(order, state.status, state.reason)) continue;
      if (order.id && suspects.length < 3) suspects.push(order.id);
      if (!order.id) problems.push(`placement ${order.key} never got an order: ${order.error}`);
      else if (!state) problems.push(`order ${order.id} was returned to the client but is not in the database`);
      else if (!FINAL.has(state.status)) problems.push(`order ${order.id} still ${state.status} after ${settleMs / 1000} s`);
      else {
        wrong += 1;
        problems.push(
          `order ${order.id} ended ${state.status} (${state.reason ?? "no reason"}); cancel=${order.cancel}, poor=${order.customer.poor}, scarce=${order.scarce}`,
        );
        continue;
      }
      lost += 1;
    }
    let refundedReturns = 0;
    for (const order of placed) {
      const attempt = order.returned;
      if (!attempt?.id) continue;
      const state = returned.get(attempt.id);
      if (!state) {
        lost += 1;
        problems.push(`return ${attempt.id} of order ${order.id} was answered to the client but is not in the database`);
      } else if (state.status === "REFUNDED" && state.refund === attempt.refund) {
        refundedReturns += 1;
      } else if (state.status === "RECEIVED") {
        lost += 1;
        problems.push(`return ${attempt.id} of order ${order.id} still RECEIVED after ${settleMs / 1000} s: its refund never landed`);
      } else if (state.status === "REFUNDED" || attempt.step === "received") {
        wrong += 1;
        problems.push(
          `return ${attempt.id} of order ${order.id} ended ${state.status} refunding ${state.refund ?? "nothing"}, expected REFUNDED with ${attempt.refund}`,
        );
      }
    }
    const drift = await stockDrift(cluster, shop);
    problems.push(...drift);
    const redis = createRedis(cluster.redisUrl, { maxRetriesPerRequest: 3 });
    const deadLetters = (await Promise.all(SERVICES.map((svc) => redis.xlen(dlqKey(cluster.streamPrefix, svc))))).reduce((a, b) => a + b, 0);
    redis.disconnect();

    for (const v of violations) if (suspects.length < 3 && v.subject.startsWith("order ")) suspects.push(v.subject.slice(6));
    const stories = await Promise.all(suspects.map(async (id) => formatStory(await orderStory(cluster, id))));
    const tally: Record<string, number> = {};
    for (const s of states.values()) tally[s.status] = (tally[s.status] ?? 0) + 1;
    return {
      redis: cluster.redisCluster ? `Redis Cluster (${(await cluster.redisCluster.topology()).length} masters, a replica each)` : "one Redis",
      ordersPlaced: placed.length,
      faultsInjected: done.length,
      faults: done,
      ordersLost: lost,
      duplicatedEffects: violations.filter((v) => v.check.startsWith("duplicate-")).length + drift.length,
      wrongOutcomes: wrong,
      deadLetters,
      returns: { attempted: placed.filter((p) => p.returned).length, refunded: refundedReturns },
      violations,
      states: tally,
      clientRetries: base.stats.retries,
      problems,
      stories,
      logDir: cluster.logDir,
    };
  } finally {
    await cluster.stop();
  }
}

/** What must all be zero or empty after a drill; a test compares it with `CLEAN_OUTCOME`. */
export function outcomeOf(report: DrillReport) {
  return {
    lost: report.ordersLost,
    duplicated: report.duplicatedEffects,
    wrong: report.wrongOutcomes,
    deadLetters: report.deadLetters,
    violations: report.violations.map((v) => `${v.check} ${v.subject}: ${v.message}`),
    problems: report.problems,
  };
}

export const CLEAN_OUTCOME: ReturnType<typeof outcomeOf> = { lost: 0, duplicated: 0, wrong: 0, deadLetters: 0, violations: [], problems: [] };

/** The report as the lines `npm run chaos` prints. */
export function formatReport(report: DrillReport): string {
  const lines = [
    `redis:              ${report.redis}`,
    `orders placed:      ${report.ordersPlaced}   (${Object.entries(report.states)
      .map(([s, n]) => `${s} ${n}`)
      .join(", ")})`,
    `faults injected:    ${report.faultsInjected}   (${report.faults.join(", ")})`,
    `orders lost:        ${report.ordersLost}`,
    `duplicated effects: ${report.duplicatedEffects}`,
    `wrong outcomes:     ${report.wrongOutcomes}`,
    `dead letters:       ${report.deadLetters}`,
    `returns:            ${report.returns.attempted} started, ${report.returns.refunded} refunded in full`,
    `reconcile:          ${report.violations.length} violation(s)`,
    `client retries:     ${report.clientRetries}`,
    `logs:               ${report.logDir}`,
  ];
  for (const v of report.violations) lines.push(`  VIOLATION ${v.check} ${v.subject}: ${v.message}`);
  for (const p of report.problems.slice(0, 50)) lines.push(`  PROBLEM ${p}`);
  for (const story of report.stories) lines.push("", story);
  return lines.join("\n");
}
