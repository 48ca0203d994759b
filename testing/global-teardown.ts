/** jest globalTeardown: stop what global-setup.ts started (Postgres, Redis — even if a test restarted it —, the SMTP sink). */
import type { Infra } from "@commerce/ops";
import { shutdownRedisAt, stopPostgresAt } from "@commerce/ops";

export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as Record<string, unknown>).__COMMERCE_TEST_INFRA__ as Infra | undefined;
  if (infra) {
    await infra.stop();
    delete (globalThis as Record<string, unknown>).__COMMERCE_TEST_INFRA__;
    return;
  }
  // not the same context as setup (should not happen with jest 30): stop by what the env says
  if (process.env.TEST_REDIS_PORT) await shutdownRedisAt(Number(process.env.TEST_REDIS_PORT)).catch(() => {});
  if (process.env.TEST_PG_DATA_DIR && process.env.TEST_PG_BINDIR) {
    await stopPostgresAt(process.env.TEST_PG_DATA_DIR, process.env.TEST_PG_BINDIR, process.env.TEST_PG_OS_USER ?? null);
  }
}
