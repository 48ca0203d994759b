/**
 * startPlatform() with stand-in services (written to a temp dir): every process gets its own
 * database role, the shared env, health waiting, restart / kill / start, and a clean stop.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { isListening, isAlive } from "@commerce/ops";
import { Platform, SERVICES, startPlatform } from ".";

const DUMMY = `
const http = require('node:http');
const { Client } = require(${JSON.stringify(require.resolve("pg"))});
const name = process.argv[1].split('/').slice(-3)[0];
async function main() {
  let who = null;
  if (process.env.DATABASE_URL) {
    const c = new Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    who = (await c.query('select current_user as role, current_database() as db')).rows[0];
    await c.end();
  }
  console.log('started', name, JSON.stringify(who));
  const server = http.createServer((req, res) => {
    if (req.url === '/health') { res.writeHead(200); return res.end('ok'); }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, pid: process.pid, who, env: process.env }));
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

describe("startPlatform (stand-in services)", () => {
  let appRoot: string;
  let platform: Platform;

  beforeAll(async () => {
    appRoot = fs.mkdtempSync(path.join(os.tmpdir(), "commerce-dummy-app-"));
    for (const svc of SERVICES) {
      fs.mkdirSync(path.join(appRoot, "subgraphs", svc, "src"), { recursive: true });
      fs.writeFileSync(path.join(appRoot, "subgraphs", svc, "src", "main.ts"), DUMMY);
    }
    fs.mkdirSync(path.join(appRoot, "gateway", "src"), { recursive: true });
    fs.writeFileSync(path.join(appRoot, "gateway", "src", "main.ts"), DUMMY);
    platform = await startPlatform({ appRoot, env: { SAGA_DEADLINE_MS: "1234" } });
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    fs.rmSync(appRoot, { recursive: true, force: true });
  }, 60_000);

  const info = async (url: string) =>
    (await (await fetch(url.replace(/\/graphql$/, "/"))).json()) as {
      name: string;
      pid: number;
      who: { role: string; db: string } | null;
      env: Record<string, string>;
    };

  it("runs every subgraph with its own database role and the shared env", async () => {
    for (const svc of SERVICES) {
      const got = await info(platform.urls[svc]);
      expect(got.name).toBe(svc);
      expect(got.who).toEqual({ role: platform.databases[svc].role, db: platform.databases[svc].database });
      expect(got.env).toMatchObject({
        PORT: String(platform.ports[svc]),
        STREAM_PREFIX: platform.streamPrefix,
        REDIS_URL: process.env.TEST_REDIS_URL,
        SMTP_URL: process.env.TEST_SMTP_URL,
        NODE_ENV: "test",
        SAGA_DEADLINE_MS: "1234",
        SUBGRAPH_ORDER_URL: platform.urls.order,
      });
      expect(got.env.JEST_WORKER_ID).toBeUndefined();
    }
    expect(platform.streamPrefix).toMatch(/^t_e2e_[0-9a-f]+$/);
    expect(fs.readFileSync(platform.logFile("user"), "utf8")).toContain("started user");
  });

  it("runs the gateway without a database", async () => {
    const gw = await info(platform.gatewayUrl);
    expect(gw.name).toBe("gateway");
    expect(gw.who).toBeNull();
    expect(gw.env.INTERNAL_SECRET).toBe(platform.env.INTERNAL_SECRET);
    expect(platform.wsUrl).toBe(platform.gatewayUrl.replace("http", "ws"));
  });

  it("restart(), kill() and start() a service", async () => {
    const before = await info(platform.urls.order);
    await platform.restart("order");
    const after = await info(platform.urls.order);
    expect(after.pid).not.toBe(before.pid);
    expect(isAlive(before.pid)).toBe(false);

    const victim = await info(platform.urls.payment);
    await platform.kill("payment", "SIGKILL");
    expect(isAlive(victim.pid)).toBe(false);
    expect(await isListening(platform.ports.payment)).toBe(false);
    await platform.start("payment");
    expect((await info(platform.urls.payment)).name).toBe("payment");
  }, 60_000);

  it("stop() ends every process and drops the databases", async () => {
    const pids = await Promise.all([...SERVICES.map((s) => platform.urls[s]), platform.gatewayUrl].map(async (u) => (await info(u)).pid));
    await platform.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    const client = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await client.connect();
    try {
      const { rowCount } = await client.query("select 1 from pg_database where datname = any($1)", [
        Object.values(platform.databases).map((d) => d.database),
      ]);
      expect(rowCount).toBe(0);
    } finally {
      await client.end();
    }
  }, 60_000);
});
