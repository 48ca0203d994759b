/**
 * docker-compose.yml is checked with `docker compose config` when the compose plugin exists
 * (no engine needed), else parsed with the `yaml` package; the same assertions run either way.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml");
const SERVICES = ["user", "product", "order", "payment", "notification"];

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: unknown[];
}

function composeAvailable(): boolean {
  const r = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

function loadCompose(): { how: string; services: Record<string, ComposeService> } {
  if (composeAvailable()) {
    const quiet = spawnSync("docker", ["compose", "-f", COMPOSE_FILE, "config", "-q"], { cwd: ROOT, encoding: "utf8" });
    if (quiet.status !== 0) throw new Error(`docker compose config -q failed:\n${quiet.stderr}`);
    const json = spawnSync("docker", ["compose", "-f", COMPOSE_FILE, "config", "--format", "json"], { cwd: ROOT, encoding: "utf8" });
    if (json.status !== 0) throw new Error(`docker compose config --format json failed:\n${json.stderr}`);
    return { how: "docker compose config", services: JSON.parse(json.stdout).services };
  }
  const doc = YAML.parse(fs.readFileSync(COMPOSE_FILE, "utf8"), { merge: true });
  return { how: "yaml", services: doc.services };
}

const envOf = (svc: ComposeService): Record<string, string> => {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split("=")[0], e.split("=").slice(1).join("=")]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? "")]));
};
const depsOf = (svc: ComposeService): Record<string, string | undefined> => {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition]));
};
const commandOf = (svc: ComposeService) => (Array.isArray(svc.command) ? svc.command.join(" ") : (svc.command ?? ""));

describe("docker-compose.yml", () => {
  const { how, services } = loadCompose();

  it(`parses (${how}) and has infra, the five subgraphs and the gateway`, () => {
    expect(Object.keys(services).sort()).toEqual(["gateway", "postgres", "redis", "smtp", ...SERVICES].sort());
    expect(services.postgres.image).toMatch(/^postgres:16/);
    expect(services.redis.image).toMatch(/^redis:7/);
  });

  it("gives every service a healthcheck", () => {
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, test: svc.healthcheck?.test && !svc.healthcheck.disable }).toEqual({ name, test: true });
    }
    for (const name of [...SERVICES, "gateway", "smtp"]) {
      expect(JSON.stringify(services[name].healthcheck!.test)).toContain("/health");
    }
  });

  it("runs each subgraph from the one image on its own database role, after Postgres and Redis are healthy", () => {
    const init = fs.readFileSync(path.join(ROOT, "ops", "deploy", "docker", "postgres-init.sh"), "utf8");
    SERVICES.forEach((name, i) => {
      const svc = services[name];
      expect(svc.build).toBeDefined();
      expect(commandOf(svc)).toBe(`node -r @swc-node/register subgraphs/${name}/src/main.ts`);
      const env = envOf(svc);
      expect(env.PORT).toBe(String(4001 + i));
      expect(env.DATABASE_URL).toMatch(new RegExp(`^postgres://${name}_svc:[^@]+@postgres:5432/commerce_${name}$`));
      expect(env.REDIS_URL).toBe("redis://redis:6379");
      for (const key of ["STREAM_PREFIX", "INTERNAL_SECRET", "JWT_KEYS", "SMTP_URL", "SUBGRAPH_PRODUCT_URL"]) expect(env[key]).toBeTruthy();
      expect(depsOf(svc)).toMatchObject({ postgres: "service_healthy", redis: "service_healthy" });
    });
    expect(depsOf(services.notification).smtp).toBe("service_healthy");
    expect(init).toContain("for svc in user product order payment notification");
    expect(init).toMatch(/REVOKE CONNECT, TEMPORARY ON DATABASE :"db" FROM PUBLIC/);
  });

  it("starts the gateway on 4000 once every subgraph is healthy", () => {
    const gw = services.gateway;
    expect(commandOf(gw)).toBe("node -r @swc-node/register gateway/src/main.ts");
    expect(envOf(gw).PORT).toBe("4000");
    const deps = depsOf(gw);
    for (const name of SERVICES) expect(deps[name]).toBe("service_healthy");
    expect(JSON.stringify(gw.ports)).toContain("4000");
  });

  it("builds from a node:20-slim Dockerfile with npm ci", () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20-slim/m);
    expect(dockerfile).toMatch(/npm ci/);
    for (const name of SERVICES) expect(dockerfile).toContain(`COPY subgraphs/${name}/package.json`);
  });

  it("interpolates only variables that have defaults", () => {
    const text = fs.readFileSync(COMPOSE_FILE, "utf8");
    const bare = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
    expect(bare).toEqual([]);
  });
});
