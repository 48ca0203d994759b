/**
 * jest globalSetup: ONE throwaway PostgreSQL + Redis + SMTP sink for the whole run, on random free ports,
 * passed to the workers as TEST_* variables (ops/README.md, "Test helpers"); TEST_INFRA=none skips it.
 */
import { provisionInfra } from "@commerce/ops";

export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_INFRA === "none") return;
  if (process.env.TEST_PG_ADMIN_URL && process.env.TEST_REDIS_URL && process.env.TEST_SMTP_API) return; // already provided
  const started = Date.now();
  const verbose = process.env.TEST_INFRA_VERBOSE === "1";
  const infra = await provisionInfra({
    mode: "ephemeral",
    log: verbose ? (m) => process.stderr.write(`[infra] ${m}\n`) : undefined,
  });
  (globalThis as Record<string, unknown>).__COMMERCE_TEST_INFRA__ = infra;
  const env: Record<string, string> = {
    TEST_PG_ADMIN_URL: infra.pgAdminUrl,
    TEST_REDIS_URL: infra.redisUrl,
    TEST_SMTP_PORT: String(infra.smtp!.smtpPort),
    TEST_SMTP_URL: infra.smtp!.smtpUrl,
    TEST_SMTP_API: infra.smtp!.apiUrl,
  };
  if (infra.tmpDir) env.TEST_INFRA_DIR = infra.tmpDir;
  if (infra.redis) {
    env.TEST_REDIS_PORT = String(infra.redis.port);
    env.TEST_REDIS_DIR = infra.redis.dir;
    if (infra.redis.bin) env.TEST_REDIS_BIN = infra.redis.bin;
  }
  if (infra.postgres) {
    env.TEST_PG_DATA_DIR = infra.postgres.dataDir;
    env.TEST_PG_BINDIR = infra.postgres.bindir;
    if (infra.postgres.user) env.TEST_PG_OS_USER = infra.postgres.user;
  }
  Object.assign(process.env, env);
  if (verbose) process.stderr.write(`[infra] ready in ${Date.now() - started} ms\n`);
}
