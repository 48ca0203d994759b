import { provisionInfra, type Infra } from "../../provision";

/** Runs a benchmark's `main` and exits: 0 when it finished, 1 (with the error) when it threw. Never on a figure. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** Postgres and Redis for a bench: TEST_PG_ADMIN_URL / TEST_REDIS_URL when both are set, else throwaway servers of its own. */
export async function benchServers(): Promise<{ adminUrl: string; redisUrl: string; infra: Infra | null }> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (adminUrl && redisUrl) return { adminUrl, redisUrl, infra: null };
  console.log("starting Postgres and Redis for the benchmark…");
  const infra = await provisionInfra({ mode: "ephemeral", smtp: false, env: {} });
  return { adminUrl: infra.pgAdminUrl, redisUrl: infra.redisUrl, infra };
}
