/**
 * Where the operator tools (`npm run saga`, `npm run reconcile`) find the platform: each service's
 * database and Redis. Explicit env wins (`DATABASE_URL_<SERVICE>` as `npm start` reads it, then
 * `DATABASE_URL`, `REDIS_CLUSTER_NODES` or `REDIS_URL`, `STREAM_PREFIX`); otherwise what `npm start` persisted in `.data/` (COMMERCE_DATA_DIR): the superuser password in
 * `secrets.json` and the port in Postgres's own `postmaster.pid`, so the tools need no setup.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { redisUrlFromEnv } from "@commerce/streams";
import { adminUrlFor, REPO_ROOT, serviceDatabaseUrlsFromEnv, serviceDatabaseVar, withDefaultServer } from "../provision";
import { SERVICES, type ServiceName } from "../provision/platform";

/** One database URL per service (any role that can read its tables). */
export type DatabaseUrls = Record<ServiceName, string>;

export interface Targets {
  databases: DatabaseUrls;
  redisUrl: string;
  streamPrefix: string;
  /** for the first line of output: where we looked (no passwords) */
  describe: string;
}

/** The Postgres port of an `npm start` data dir: line 4 of postmaster.pid (also where start.ts may have relocated it). */
function persistedPgPort(dataDir: string): number | null {
  const dir = path.join(dataDir, "pg");
  const hash = crypto.createHash("sha1").update(dir).digest("hex").slice(0, 10);
  for (const candidate of [dir, path.join("/var/tmp", `commerce-pg-${hash}`)]) {
    const pidFile = path.join(candidate, "data", "postmaster.pid");
    if (!fs.existsSync(pidFile)) continue;
    const port = Number(fs.readFileSync(pidFile, "utf8").split("\n")[3]);
    if (Number.isInteger(port) && port > 0) return port;
  }
  return null;
}

export function resolveTargets(env: NodeJS.ProcessEnv = process.env): Targets {
  const redisUrl = redisUrlFromEnv(env);
  const streamPrefix = env.STREAM_PREFIX ?? "commerce";
  const placed = serviceDatabaseUrlsFromEnv(SERVICES, env);
  const rest = SERVICES.filter((svc) => !placed[svc]);
  const onServer = (adminUrl: string | null) => withDefaultServer(SERVICES, placed, adminUrl);
  const placedNote = rest.length < SERVICES.length ? "DATABASE_URL_<SERVICE>, " : "";
  if (!rest.length) {
    return { databases: onServer(null), redisUrl, streamPrefix, describe: `DATABASE_URL_<SERVICE>, ${redisUrl}, prefix ${streamPrefix}` };
  }
  if (env.DATABASE_URL) {
    const databases = onServer(env.DATABASE_URL);
    return { databases, redisUrl, streamPrefix, describe: `${placedNote}DATABASE_URL (${rest.join(", ")}), ${redisUrl}, prefix ${streamPrefix}` };
  }
  const dataDir = path.resolve(env.COMMERCE_DATA_DIR || path.join(REPO_ROOT, ".data"));
  const secretsFile = path.join(dataDir, "secrets.json");
  if (!fs.existsSync(secretsFile)) {
    throw new Error(
      `set ${rest.map(serviceDatabaseVar).join(", ")} (or DATABASE_URL for all of them), or run \`npm start\` first (no ${secretsFile})`,
    );
  }
  const { pgAdminPassword } = JSON.parse(fs.readFileSync(secretsFile, "utf8")) as { pgAdminPassword: string };
  const port = Number(env.PGPORT) || persistedPgPort(dataDir) || 5432;
  const databases = onServer(adminUrlFor(port, pgAdminPassword));
  return { databases, redisUrl, streamPrefix, describe: `${placedNote}${dataDir} (Postgres :${port}), ${redisUrl}, prefix ${streamPrefix}` };
}
