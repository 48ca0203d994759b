/**
 * Where each service's database lives. `DATABASE_URL_<SERVICE>` names it (the URL's path is the
 * database, `commerce_<svc>` when empty); services without one share the default server. `npm start`,
 * the test harness and the operator tools all read placement here.
 */
import { Client } from "pg";
import { ensureOwnedDatabase, rolePassword, type ServiceDatabase } from "./postgres";
import { silent, type Logger } from "./util";

/** `DATABASE_URL_ORDER` for `order`. */
export const serviceDatabaseVar = (service: string) => `DATABASE_URL_${service.toUpperCase()}`;

/** `postgres://u:***@h:p/db`: a URL fit for logs and errors. */
export const redactUrl = (url: string) => url.replace(/:[^:@/]*@/, ":***@");

const MAINTENANCE = new Set(["postgres", "template0", "template1"]);

/** `url` with its path set to `database` (credentials and query kept). */
export function databaseUrlOn(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
const serverOf = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
};

/**
 * `DATABASE_URL_<SERVICE>` of each service that sets it, its path filled in with `commerce_<svc>` when
 * empty. A maintenance database (`postgres`, `template1`) is refused: a service never lives there.
 */
export function serviceDatabaseUrlsFromEnv<S extends string>(
  services: readonly S[],
  env: NodeJS.ProcessEnv = process.env,
): Partial<Record<S, string>> {
  const found: Partial<Record<S, string>> = {};
  for (const service of services) {
    const name = serviceDatabaseVar(service);
    const value = env[name];
    if (!value) continue;
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new Error(`${name} is not a URL (expected postgres://user:password@host:port/database)`);
    }
    if (!/^postgres(ql)?:$/.test(u.protocol)) throw new Error(`${name} must be a postgres:// URL, got ${u.protocol}//…`);
    const database = databaseOf(value);
    if (MAINTENANCE.has(database)) {
      throw new Error(`${name} names the maintenance database ${database}: put the service's own database in the path (e.g. /commerce_${service})`);
    }
    found[service] = database ? value : databaseUrlOn(value, `commerce_${service}`);
  }
  return found;
}

/** Each service's database URL: the one `placed` names, else `commerce_<svc>` on `defaultServer` (a superuser URL). */
export function withDefaultServer<S extends string>(
  services: readonly S[],
  placed: Partial<Record<S, string>>,
  defaultServer: string | null,
): Record<S, string> {
  const urls = {} as Record<S, string>;
  for (const service of services) {
    const url = placed[service] ?? (defaultServer ? databaseUrlOn(defaultServer, `commerce_${service}`) : null);
    if (!url) throw new Error(`no Postgres server for ${service}: set ${serviceDatabaseVar(service)}`);
    urls[service] = url;
  }
  return urls;
}

export interface ServiceDatabasePlacementOptions {
  /** appended to the role names the provisioning creates, e.g. `_e1a2b` → `order_svc_e1a2b` */
  roleSuffix?: string;
  /** derive stable role passwords from this secret (npm start restarts); random otherwise */
  passwordSecret?: string;
  log?: Logger;
}

interface RoleFacts {
  user: string;
  superuser: boolean;
  replication: boolean;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/**
 * What a server needs to host the outbox relays of `services` (streams/PROTOCOL.md, "Relay"):
 * logical decoding, and one replication slot and one WAL sender per service database.
 */
export async function checkReplicationServer(client: Pick<Client, "query">, services: readonly string[]): Promise<void> {
  const setting = async (name: string) =>
    (await client.query<{ setting: string }>("select setting from pg_settings where name = $1", [name])).rows[0]?.setting;
  const problems: string[] = [];
  const walLevel = await setting("wal_level");
  if (walLevel !== "logical") problems.push(`wal_level is ${walLevel}, the relays need logical`);
  for (const name of ["max_replication_slots", "max_wal_senders"]) {
    const value = Number(await setting(name));
    if (value < services.length) problems.push(`${name} is ${value}, the relays of ${services.join(", ")} need at least ${services.length}`);
  }
  if (problems.length) {
    throw new Error(
      `${problems.join("; ")}. Set wal_level = logical, max_replication_slots and max_wal_senders ≥ ${Math.max(services.length, 10)} ` +
        `in postgresql.conf (a managed server: its parameter group / flags, e.g. rds.logical_replication = 1) and restart Postgres`,
    );
  }
}

/**
 * Makes each service's database ready on the server its URL names, and returns what the service
 * connects with. With a superuser URL the database (the URL's path) and a login role `<svc>_svc`
 * owning it are created (or updated) there; any other URL is the service's own role, used as it is
 * once checked: the database exists, the role may create tables in it and has REPLICATION. Every
 * server must allow logical decoding. Errors name the service, the URL (no password) and the fix.
 */
export async function provisionServiceDatabases<S extends string>(
  urls: Record<S, string>,
  options: ServiceDatabasePlacementOptions = {},
): Promise<Record<S, ServiceDatabase>> {
  const log = options.log ?? silent;
  const services = Object.keys(urls) as S[];
  const byServer = new Map<string, S[]>();
  for (const service of services) {
    const server = serverOf(urls[service]);
    byServer.set(server, [...(byServer.get(server) ?? []), service]);
  }
  const checkedServers = new Set<string>();
  const result = {} as Record<S, ServiceDatabase>;
  for (const service of services) {
    const url = urls[service];
    const server = serverOf(url);
    const database = databaseOf(url);
    const where = `${service}'s database (${redactUrl(url)})`;
    let client: Client;
    try {
      client = await connect(url);
    } catch (err) {
      if ((err as { code?: string }).code !== "3D000") throw new Error(`cannot reach ${where}: ${(err as Error).message}`);
      // no such database yet: only an administrator can create it, from the maintenance database
      client = await connect(databaseUrlOn(url, "postgres")).catch((inner: Error) => {
        throw new Error(
          `${where}: database ${database} does not exist, and the URL's role cannot connect to the maintenance database to create it (${inner.message}). ` +
            `Create ${database} owned by the service's role, or give a superuser URL`,
        );
      });
    }
    try {
      if (!checkedServers.has(server)) {
        await checkReplicationServer(client, byServer.get(server)!).catch((err: Error) => {
          throw new Error(`the server of ${byServer.get(server)!.join(", ")} (${server}): ${err.message}`);
        });
        checkedServers.add(server);
      }
      const facts = (
        await client.query<RoleFacts>(
          "select current_user as user, rolsuper as superuser, rolreplication as replication from pg_roles where rolname = current_user",
        )
      ).rows[0];
      if (facts.superuser) {
        const role = `${service}_svc${options.roleSuffix ?? ""}`;
        const password = rolePassword(role, options.passwordSecret);
        await ensureOwnedDatabase(client, role, database, password);
        const own = new URL(url);
        own.username = role;
        own.password = password;
        result[service] = { service, role, password, database, url: own.toString() };
        log(`${service}: database ${database} on ${server} (role ${role})`);
        continue;
      }
      if (databaseOf(url) !== (await client.query<{ db: string }>("select current_database() as db")).rows[0].db) {
        throw new Error(`database ${database} does not exist: create it owned by ${facts.user}, or give a superuser URL`);
      }
      const missing: string[] = [];
      if (!facts.replication)
        missing.push(
          `REPLICATION (the outbox relay streams the database's WAL): ALTER ROLE ${facts.user} REPLICATION (managed servers: their replication role, e.g. GRANT rds_replication)`,
        );
      const canCreate = (
        await client.query<{ db: boolean; schema: boolean }>(
          "select has_database_privilege(current_database(), 'CREATE') as db, has_schema_privilege('public', 'CREATE') as schema",
        )
      ).rows[0];
      if (!canCreate.db || !canCreate.schema) {
        missing.push(`the right to create tables and a publication in ${database}: ALTER DATABASE ${database} OWNER TO ${facts.user}`);
      }
      if (missing.length) {
        throw new Error(`role ${facts.user} lacks ${missing.join("; and ")} (as a superuser), or give a superuser URL and the role is made for it`);
      }
      result[service] = { service, role: facts.user, password: decodeURIComponent(new URL(url).password), database, url };
      log(`${service}: database ${database} on ${server} (its own role ${facts.user})`);
    } catch (err) {
      const message = (err as Error).message;
      throw new Error(message.startsWith("the server of") ? message : `${where}: ${message}`);
    } finally {
      await client.end().catch(() => {});
    }
  }
  return result;
}
