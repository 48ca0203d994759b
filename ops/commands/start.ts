/**
 * `npm start`: Postgres, Redis and the SMTP sink in <repo>/.data, the five subgraphs, the gateway and the
 * seed; Ctrl-C stops them in reverse order. Knobs and failure handling: ops/README.md.
 */
import fs from "node:fs";
import path from "node:path";
import {
  Infra,
  InfraWithoutPostgres,
  pickPort,
  provisionInfra,
  provisionServiceDatabases,
  redactUrl,
  REPO_ROOT,
  serviceDatabaseUrlsFromEnv,
  withDefaultServer,
} from "../provision";
import { baseEnv, commonEnv, DEFAULT_PORTS, DEMO_LOGINS, entryOf, ManagedProcess, ProcessName, randomSecret, SERVICES } from "../provision/platform";

const COLORS: Record<string, number> = { gateway: 35, user: 36, product: 32, order: 33, payment: 34, notification: 95, infra: 90 };
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const tag = (name: string) => {
  const label = name.padEnd(12);
  return useColor ? `\x1b[${COLORS[name] ?? 37}m${label}\x1b[0m|` : `${label}|`;
};
const say = (message: string) => console.log(`${tag("infra")} ${message}`);
const loud = (message: string) => {
  const line = "!".repeat(78);
  console.error(useColor ? `\x1b[41;97m${line}\x1b[0m` : line);
  for (const l of message.split("\n")) console.error(useColor ? `\x1b[31m${l}\x1b[0m` : l);
  console.error(useColor ? `\x1b[41;97m${line}\x1b[0m` : line);
};

interface Secrets {
  internalSecret: string;
  jwtKeys: string;
  pgAdminPassword: string;
  dbPasswordSecret: string;
}

function loadSecrets(dataDir: string): Secrets {
  const file = path.join(dataDir, "secrets.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));
  const secrets: Secrets = {
    internalSecret: randomSecret(),
    jwtKeys: `k1:${randomSecret()}`,
    pgAdminPassword: randomSecret(18),
    dbPasswordSecret: randomSecret(),
  };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  say(`generated secrets in ${file}`);
  return secrets;
}

async function main() {
  const started = Date.now();
  const dataDir = path.resolve(process.env.COMMERCE_DATA_DIR || path.join(REPO_ROOT, ".data"));
  const appRoot = path.resolve(process.env.COMMERCE_APP_ROOT || REPO_ROOT);
  const healthTimeout = Number(process.env.HEALTH_TIMEOUT_MS || 120_000);
  say(`starting the commerce platform (data in ${dataDir})`);
  if (fs.existsSync(path.join(dataDir, "pg", "data", "PG_VERSION")) && !fs.existsSync(path.join(dataDir, "secrets.json"))) {
    throw new Error(`${dataDir}/pg exists but ${dataDir}/secrets.json is missing: delete ${dataDir} to start afresh`);
  }
  const secrets = loadSecrets(dataDir);

  let infra: Infra | InfraWithoutPostgres | null = null;
  const children = new Map<ProcessName, ManagedProcess>();
  let shuttingDown = false;
  let up = false; // before that, a child that dies fails the start-up (waitHealthy reports it)

  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say("stopping…");
    const gateway = children.get("gateway");
    if (gateway) await gateway.stop();
    await Promise.all([...children.values()].map((c) => c.stop()));
    if (infra) {
      say("stopping the SMTP sink, Redis and PostgreSQL");
      await infra.stop();
    }
    say("stopped.");
    process.exit(code);
  };
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt && Date.now() - firstSignalAt < 1000) return; // the same Ctrl-C, relayed by npm
    if (firstSignalAt) {
      console.error(`${signal} again: forcing exit`);
      for (const c of children.values())
        if (c.pid)
          try {
            process.kill(-c.pid, "SIGKILL");
          } catch {
            /* gone */
          }
      process.exit(130);
    }
    firstSignalAt = Date.now();
    console.log("");
    say(`${signal} received`);
    void shutdown(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  try {
    const placed = serviceDatabaseUrlsFromEnv(SERVICES);
    const onDefaultServer = SERVICES.filter((svc) => !placed[svc]);
    infra = await provisionInfra({
      mode: "persistent",
      dataDir,
      adminPassword: secrets.pgAdminPassword,
      ports: { postgres: 5432, redis: 6379, smtp: 2525, smtpApi: 2526 },
      postgres: onDefaultServer.length > 0,
      log: say,
    });
    const pgAdminUrl = infra.pgAdminUrl;
    if (pgAdminUrl) say(`PostgreSQL ${redactUrl(pgAdminUrl)}${Object.keys(placed).length ? ` (${onDefaultServer.join(", ")})` : ""}`);
    say(`Redis      ${infra.redisUrl}`);
    say(`SMTP sink  ${infra.smtp!.smtpUrl}  (messages: ${infra.smtp!.apiUrl}/messages)`);

    const urls = withDefaultServer(SERVICES, placed, pgAdminUrl);
    const dbs = await provisionServiceDatabases(urls, { passwordSecret: secrets.dbPasswordSecret, log: say });

    const ports = {} as Record<ProcessName, number>;
    for (const name of [...SERVICES, "gateway"] as ProcessName[]) {
      ports[name] = await pickPort(DEFAULT_PORTS[name]);
      if (ports[name] !== DEFAULT_PORTS[name]) say(`port ${DEFAULT_PORTS[name]} is taken: ${name} uses ${ports[name]}`);
    }
    const env = {
      ...baseEnv(),
      ...commonEnv({
        ports,
        redisUrl: infra.redisUrl,
        streamPrefix: "commerce",
        internalSecret: secrets.internalSecret,
        jwtKeys: secrets.jwtKeys,
        smtpUrl: infra.smtp!.smtpUrl,
        nodeEnv: "development",
        extra: { LOG_PRETTY: "1" },
      }),
    };

    const spawnOne = (name: ProcessName): ManagedProcess | null => {
      const entry = entryOf(name, appRoot);
      if (!fs.existsSync(entry)) {
        say(`skipping ${name}: ${path.relative(REPO_ROOT, entry) || entry} does not exist yet`);
        return null;
      }
      const proc = new ManagedProcess({
        name,
        entry,
        env: { ...env, PORT: String(ports[name]), ...(name !== "gateway" ? { DATABASE_URL: dbs[name].url } : {}) },
        output: { kind: "prefix", write: (line) => console.log(`${tag(name)} ${line}`) },
        onUnexpectedExit: (code, signal) => {
          if (shuttingDown || !up) return;
          loud(
            `${name} CRASHED (exit ${code ?? signal}). The other processes keep running; restart \`npm start\` to bring it back.\n` +
              `Last log lines of ${name}:\n${proc.lastLines(20)}`,
          );
        },
      });
      proc.start();
      children.set(name, proc);
      infra!.reaper?.set("children", { kind: "pids", pids: [...children.values()].map((c) => c.pid!).filter(Boolean) });
      return proc;
    };

    say(`starting subgraphs: ${SERVICES.join(", ")}`);
    const subgraphs = SERVICES.map((svc) => spawnOne(svc)).filter((p): p is ManagedProcess => !!p);
    await Promise.all(
      subgraphs.map(async (proc) => {
        await proc.waitHealthy(`http://127.0.0.1:${ports[proc.name as ProcessName]}/health`, healthTimeout);
        say(`${proc.name} is healthy on :${ports[proc.name as ProcessName]}`);
      }),
    );

    up = true;
    const gateway = spawnOne("gateway");
    const gatewayUrl = `http://localhost:${ports.gateway}/graphql`;
    if (gateway) {
      await gateway.waitHealthy(`http://127.0.0.1:${ports.gateway}/health`, healthTimeout);
      say(`gateway is healthy on :${ports.gateway}`);

      const seedFile = ["seed.ts", "seed.js"].map((f) => path.join(__dirname, f)).find((f) => fs.existsSync(f));
      if (seedFile && process.env.SKIP_SEED !== "1") {
        say("seeding demo data…");
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const mod = require(seedFile);
          if (typeof mod.seed === "function") await mod.seed(gatewayUrl.replace("localhost", "127.0.0.1"));
          say("seed done");
        } catch (err) {
          loud(`seeding failed (the platform keeps running): ${(err as Error).stack ?? err}`);
        }
      }
    }

    const took = ((Date.now() - started) / 1000).toFixed(1);
    console.log("");
    console.log("=".repeat(78));
    if (gateway) {
      console.log(`  The commerce platform is up (${took} s).`);
      console.log(`  GraphQL endpoint / Apollo Sandbox:  ${gatewayUrl}`);
      console.log(`  Subscriptions (graphql-ws):         ws://localhost:${ports.gateway}/graphql`);
    } else {
      console.log(`  Infrastructure is up (${took} s), but gateway/src/main.ts does not exist yet.`);
    }
    console.log(`  Sent e-mails:                       ${infra.smtp!.apiUrl}/messages`);
    console.log("  Demo logins:");
    for (const l of DEMO_LOGINS) console.log(`    ${l.role.padEnd(9)} ${l.email.padEnd(22)} / ${l.password}`);
    console.log("  Ctrl-C stops everything.");
    console.log("=".repeat(78));
  } catch (err) {
    if (shuttingDown) return; // Ctrl-C during start-up: shutdown() is already under way
    loud(`npm start failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
