/**
 * `npm run chaos -- [--minutes N] [--faults N] [--redis-cluster]`: the fault drill (drill.ts) on its own
 * throwaway infrastructure; `--redis-cluster` runs it on a local Redis Cluster (3 masters, a replica each). Prints the counts; exits 1 when an order was lost, an effect duplicated, an outcome
 * wrong, an event dead-lettered or an invariant broken. The short version runs in `npm test`
 * (ops/e2e/chaos.e2e.test.ts).
 */
import { formatReport, runDrill } from "./drill";

function arg(argv: string[], name: string): number | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : undefined;
}

async function main(argv: string[]): Promise<number> {
  const minutes = arg(argv, "--minutes") ?? 10;
  const report = await runDrill({
    durationMs: minutes * 60_000,
    faults: arg(argv, "--faults"),
    redisCluster: argv.includes("--redis-cluster"),
    log: (line) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(formatReport(report));
  const failed = report.ordersLost + report.duplicatedEffects + report.wrongOutcomes + report.deadLetters + report.violations.length;
  console.log(failed ? "DRILL FAILED" : "DRILL PASSED");
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`chaos drill failed to run: ${(error as Error).stack ?? error}`);
    process.exit(2);
  },
);
