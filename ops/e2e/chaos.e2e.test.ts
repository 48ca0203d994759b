/**
 * The short fault drill (the long one is `npm run chaos -- --minutes 10`): two replicas of every
 * subgraph and two gateways on their own Postgres and Redis, orders placed continuously, while
 * one replica of each subgraph and a gateway are SIGKILLed (and restarted), and Redis and Postgres
 * are restarted. Nothing may be lost, duplicated or end in a state its customer did not cause, and
 * `reconcile` must find the books balanced. CHAOS_VERBOSE=1 prints the drill's progress.
 */
import { CLEAN_OUTCOME, formatReport, outcomeOf, runDrill, type DrillReport } from "../chaos/drill";

let report: DrillReport;

beforeAll(async () => {
  report = await runDrill({
    durationMs: 50_000,
    faults: 8, // user, product, order, payment, notification replica 1; gateway 1; Redis; Postgres
    settleMs: 120_000,
    log: process.env.CHAOS_VERBOSE === "1" ? (line) => process.stderr.write(`[chaos] ${line}\n`) : undefined,
  });
  process.stderr.write(`${formatReport(report)}\n`);
}, 900_000);

test("every fault of the rotation was injected while orders flowed", () => {
  expect(report.faults).toEqual([
    "kill user-1",
    "kill product-1",
    "kill order-1",
    "kill payment-1",
    "kill notification-1",
    "kill gateway-1",
    "restart redis",
    "restart postgres",
  ]);
  expect(report.ordersPlaced).toBeGreaterThan(30);
  // the failure paths were exercised too, not only the happy one
  expect(report.states.CONFIRMED).toBeGreaterThan(0);
  expect(report.states.PAYMENT_FAILED).toBeGreaterThan(0);
  expect(report.states.CANCELLED).toBeGreaterThan(0);
  // and returns: shipped, sent back, restocked and refunded while the faults hit
  expect(report.returns.refunded).toBeGreaterThan(0);
  expect(report.states.SHIPPED).toBeGreaterThan(0);
});

test("no order lost, no effect duplicated, no wrong outcome, no dead letter, books balanced", () => {
  expect(outcomeOf(report)).toEqual(CLEAN_OUTCOME);
});
