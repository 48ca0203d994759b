/**
 * jest globalSetup: ONE throwaway PostgreSQL + Redis + SMTP sink for the whole run, on random free
 * ports in a temp dir (DATABASE_URL / REDIS_URL, when set, are used instead of starting servers).
 * Tests read them from process.env (inherited by the workers):
 *   TEST_PG_ADMIN_URL   superuser URL (database `postgres`)
 *   TEST_REDIS_URL      redis://127.0.0.1:<port>
 *   TEST_REDIS_PORT, TEST_REDIS_DIR, TEST_REDIS_BIN   (only when we started Redis: restartRedis() needs them)
 *   TEST_SMTP_PORT      SMTP port of the sink;  TEST_SMTP_URL smtp://127.0.0.1:<port>
 *   TEST_SMTP_API       http://127.0.0.1:<port> (GET /messages?to=, DELETE /messages, POST /fail)
 *   TEST_PG_DATA_DIR, TEST_PG_BINDIR, TEST_PG_OS_USER, TEST_INFRA_DIR   (for teardown / debugging)
 * TEST_INFRA=none skips it all (unit-only runs).
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
