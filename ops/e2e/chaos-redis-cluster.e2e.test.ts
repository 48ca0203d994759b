/**
 * The fault drill on a real local Redis Cluster (the long one is `npm run chaos -- --redis-cluster`):
 * orders flow while the master of the order stream fails over (`CLUSTER FAILOVER`) and the master of
 * the payment stream is killed -9 (its replica elected, the node back as a replica). Nothing may be
 * lost or duplicated, and `reconcile` must find the books balanced. CHAOS_VERBOSE=1 prints progress.
 */
import { CLEAN_OUTCOME, formatReport, outcomeOf, runDrill, type DrillReport } from "../chaos/drill";

let report: DrillReport;

beforeAll(async () => {
  report = await runDrill({
    redisCluster: true,
    plan: ["failover redis", "kill redis-master"],
    replicas: 1,
    gateways: 1,
    durationMs: 24_000,
    settleMs: 90_000,
    log: process.env.CHAOS_VERBOSE === "1" ? (line) => process.stderr.write(`[chaos] ${line}\n`) : undefined,
  });
  process.stderr.write(`${formatReport(report)}\n`);
}, 600_000);

test("a master failed over and another killed while orders flowed", () => {
  expect(report.redis).toBe("Redis Cluster (3 masters, a replica each)");
  expect(report.faults).toEqual(["failover redis", "kill redis-master"]);
  expect(report.ordersPlaced).toBeGreaterThan(15);
  expect(report.states.CONFIRMED).toBeGreaterThan(0);
  expect(report.states.PAYMENT_FAILED).toBeGreaterThan(0);
});

test("no order lost, no effect duplicated, no wrong outcome, no dead letter, books balanced", () => {
  expect(outcomeOf(report)).toEqual(CLEAN_OUTCOME);
});
