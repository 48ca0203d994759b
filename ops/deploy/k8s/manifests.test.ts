/**
 * The deployment files, checked without a cluster or a Docker engine: the Kustomize base of every
 * process (probes, limits, non-root, references, Service/HPA/PDB per Deployment), the Grafana
 * dashboard and provisioning, the Prometheus scrape config, and the `observability` compose profile.
 * `kubectl kustomize` and `docker compose config` also run when those CLIs are installed.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import YAML from "yaml";
import { dlqIndexKey, dlqKey, isClusterUrl, parseClusterUrl, replayKey, slotOf, streamKey } from "@commerce/streams";
import { freePort, isListening, waitFor } from "../../provision";
import { envReader, loadSubgraphConfig, type SubgraphName } from "@commerce/kit";
import { producers } from "@commerce/schema";
import { loadGatewayConfig } from "@commerce/gateway";
import {
  conventionPorts,
  containerEnv,
  loadKustomization,
  loadManifests,
  manifestFiles,
  objectData,
  podRefs,
  quantity,
  selects,
  type Manifest,
} from "./manifests";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const PORTS = conventionPorts(ROOT);
const PROCESSES = Object.keys(PORTS);
const SUBGRAPHS = PROCESSES.filter((name) => name !== "gateway");
const manifests = loadManifests();
const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const entryOf = (name: string) => (name === "gateway" ? "gateway/src/main.ts" : `subgraphs/${name}/src/main.ts`);
const cli = (command: string, args: string[]) => spawnSync(command, args, { cwd: ROOT, encoding: "utf8" });
const hasCli = (command: string, args: string[]) => {
  const result = cli(command, args);
  return !result.error && result.status === 0;
};

describe("Kubernetes base (ops/deploy/k8s)", () => {
  it("covers every process of docs/CONVENTIONS.md, on its conventional port", () => {
    expect(PROCESSES.sort()).toEqual(["gateway", "notification", "order", "payment", "product", "user"]);
    expect(
      byKind("Deployment")
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual([...PROCESSES].sort());
    for (const name of PROCESSES) {
      const [container] = named("Deployment", name)!.spec.template.spec.containers;
      expect({ name, port: container.ports[0].containerPort }).toEqual({ name, port: PORTS[name] });
      expect({ name, port: containerEnv(manifests, container).PORT }).toEqual({ name, port: String(PORTS[name]) });
    }
  });

  it("lists every file in kustomization.yaml, and only files that exist", () => {
    const kustomization = loadKustomization();
    expect([...kustomization.resources].sort()).toEqual(manifestFiles());
    expect(kustomization.images?.map((image) => image.name)).toEqual(["commerce-platform"]);
  });

  it("renders with kubectl kustomize when kubectl is installed", () => {
    if (!hasCli("kubectl", ["version", "--client"])) return; // the YAML checks below still run
    const rendered = cli("kubectl", ["kustomize", "ops/deploy/k8s"]);
    expect(rendered.stderr).toBe("");
    const docs = YAML.parseAllDocuments(rendered.stdout).map((d) => d.toJS());
    expect(docs).toHaveLength(manifests.length);
    for (const doc of docs) expect(doc.metadata.labels["app.kubernetes.io/part-of"]).toBe("commerce");
    for (const doc of docs.filter((d) => d.kind === "Deployment")) {
      expect(doc.metadata.namespace).toBe("commerce");
      expect(doc.spec.template.spec.containers[0].image).toMatch(/\/commerce-platform:/);
    }
  });

  describe.each(PROCESSES)("%s", (name) => {
    const deployment = named("Deployment", name)!;
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    const portOf = (port: string | number) =>
      typeof port === "number" ? port : container.ports.find((p: { name: string }) => p.name === port)?.containerPort;

    it("runs its entry from the one image", () => {
      expect(pod.containers).toHaveLength(1);
      expect(container.image).toBe("commerce-platform");
      expect(container.command).toEqual(["node", "-r", "@swc-node/register", entryOf(name)]);
      expect(fs.existsSync(path.join(ROOT, entryOf(name)))).toBe(true);
    });

    it("is probed on /ready (readiness) and /health (liveness, startup) on its own port", () => {
      expect(container.readinessProbe.httpGet.path).toBe("/ready");
      expect(portOf(container.readinessProbe.httpGet.port)).toBe(PORTS[name]);
      expect(container.livenessProbe.httpGet.path).toBe("/health");
      expect(portOf(container.livenessProbe.httpGet.port)).toBe(PORTS[name]);
      expect(container.startupProbe.httpGet.path).toBe("/health");
      expect(portOf(container.startupProbe.httpGet.port)).toBe(PORTS[name]);
    });

    it("requests resources and limits them no lower than requested", () => {
      for (const resource of ["cpu", "memory"]) {
        const request = quantity(container.resources.requests[resource]);
        const limit = quantity(container.resources.limits[resource]);
        expect(request).toBeGreaterThan(0);
        expect(limit).toBeGreaterThanOrEqual(request);
      }
      // the V8 heap cap in the ConfigMap must leave room below the memory limit
      const heapMb = Number(/--max-old-space-size=(\d+)/.exec(containerEnv(manifests, container).NODE_OPTIONS ?? "")?.[1]);
      expect(heapMb * 1024 ** 2).toBeLessThan(quantity(container.resources.limits.memory) * 0.8);
    });

    it("runs as a numeric non-root user on a read-only root filesystem, without privileges", () => {
      const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(user).toBeGreaterThan(0);
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(container.securityContext.capabilities.drop).toEqual(["ALL"]);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(named("ServiceAccount", pod.serviceAccountName)).toBeDefined();
      // the only writable path is an emptyDir
      const writable = container.volumeMounts.map((m: { name: string }) => pod.volumes.find((v: { name: string }) => v.name === m.name));
      for (const volume of writable) expect(volume.emptyDir).toBeDefined();
    });

    it("references only ConfigMaps, Secrets and keys that exist in the base", () => {
      const refs = podRefs(pod);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        const data = objectData(manifests, ref.kind, ref.name);
        expect({ ref, exists: data !== undefined }).toEqual({ ref, exists: true });
        if (ref.key) expect({ ref, hasKey: ref.key in data! }).toEqual({ ref, hasKey: true });
      }
      // least privilege: a subgraph reads the shared Secret and its own, never another service's
      const secrets = new Set(refs.filter((r) => r.kind === "Secret").map((r) => r.name));
      expect([...secrets].sort()).toEqual(name === "gateway" ? ["commerce-shared"] : ["commerce-shared", `commerce-${name}`].sort());
    });

    it("gets a configuration that the process itself accepts in production", () => {
      const env = containerEnv(manifests, container);
      expect(env.NODE_ENV).toBe("production");
      if (name === "gateway") {
        const config = loadGatewayConfig(env);
        expect(config.port).toBe(PORTS.gateway);
        expect(config.sandbox).toBe(false);
        for (const subgraph of SUBGRAPHS) expect(config.subgraphUrls[subgraph as SubgraphName]).toBe(`http://${subgraph}:${PORTS[subgraph]}/graphql`);
        expect(env.DATABASE_URL).toBeUndefined();
        return;
      }
      const config = loadSubgraphConfig(name as SubgraphName, env);
      expect(config.port).toBe(PORTS[name]);
      expect(new URL(config.databaseUrl).pathname).toBe(`/commerce_${name}`);
      expect(decodeURIComponent(new URL(config.databaseUrl).username)).toBe(`${name}_svc`);
      const settingsFile = path.join(ROOT, "subgraphs", name, "src", "settings.ts");
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      if (fs.existsSync(settingsFile)) expect(() => require(settingsFile).readSettings(envReader(env))).not.toThrow();
    });

    it("has a Service, an HPA (CPU, at least 2 replicas) and a PDB that match its pods", () => {
      const labels = deployment.spec.template.metadata.labels;
      expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
      // the HPA owns the replica count: a fixed one would be reset on every apply
      expect(deployment.spec.replicas).toBeUndefined();
      expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });

      const service = named("Service", name)!;
      expect(selects(service.spec.selector, labels)).toBe(true);
      expect(service.spec.ports).toHaveLength(1);
      expect(service.spec.ports[0].port).toBe(PORTS[name]);
      expect(portOf(service.spec.ports[0].targetPort)).toBe(PORTS[name]);

      const hpa = byKind("HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === name)!;
      expect(hpa.apiVersion).toBe("autoscaling/v2");
      expect(hpa.spec.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics).toEqual([expect.objectContaining({ type: "Resource", resource: expect.objectContaining({ name: "cpu" }) })]);
      // HPA utilization is a share of the request: without one it cannot scale
      expect(container.resources.requests.cpu).toBeDefined();

      const pdb = byKind("PodDisruptionBudget").find((p) => selects(p.spec.selector.matchLabels, labels))!;
      expect(pdb).toBeDefined();
      // with minReplicas 2, one pod may go at a time and one always serves
      expect(pdb.spec.maxUnavailable ?? hpa.spec.minReplicas - pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
    });

    it("is scraped on /metrics of its port", () => {
      const annotations = deployment.spec.template.metadata.annotations;
      expect(annotations).toMatchObject({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(PORTS[name]),
        "prometheus.io/path": "/metrics",
      });
    });
  });

  it("exposes only the gateway, only on /graphql, through the Ingress", () => {
    const ingresses = byKind("Ingress");
    expect(ingresses).toHaveLength(1);
    const paths = ingresses[0].spec.rules.flatMap((rule: { http: { paths: unknown[] } }) => rule.http.paths);
    expect(paths).toEqual([expect.objectContaining({ path: "/graphql", backend: { service: { name: "gateway", port: { name: "http" } } } })]);
    // long-lived graphql-ws connections must outlive the controller's default 60 s idle timeout
    expect(Number(ingresses[0].metadata.annotations!["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(3600);
  });

  it("points every subgraph URL of the ConfigMap at a Service of the base", () => {
    const config = objectData(manifests, "ConfigMap", "commerce-config")!;
    for (const name of SUBGRAPHS) {
      const url = new URL(config[`SUBGRAPH_${name.toUpperCase()}_URL`]);
      expect(named("Service", url.hostname)?.spec.ports[0].port).toBe(Number(url.port));
    }
    // no braces: a tag in the prefix would put every stream in one slot, over the keys' own tags
    expect(config.STREAM_PREFIX).toMatch(/^[\w:-]+$/);
  });

  it("keeps only marked placeholders in the Secret template", () => {
    for (const secret of byKind("Secret")) {
      for (const [key, value] of Object.entries(objectData(manifests, "Secret", secret.metadata.name)!)) {
        expect({ secret: secret.metadata.name, key, placeholder: value.includes("REPLACE_ME") }).toEqual({
          secret: secret.metadata.name,
          key,
          placeholder: true,
        });
      }
    }
    expect(fs.readFileSync(path.join(__dirname, "secret.yaml"), "utf8")).toMatch(/TEMPLATE/);
  });
});

describe("Redis and Postgres wiring", () => {
  const deployments = byKind("Deployment");
  const envEntries = (deployment: Manifest, name: string) =>
    deployment.spec.template.spec.containers[0].env.filter((entry: { name: string }) => entry.name === name);
  const configOf = (all: Manifest[], deployment: Manifest) => {
    const env = containerEnv(all, deployment.spec.template.spec.containers[0]);
    const name = deployment.metadata.name;
    return name === "gateway" ? loadGatewayConfig(env) : loadSubgraphConfig(name as SubgraphName, env);
  };
  const REDIS_URL_PATTERN = /\brediss?(\+cluster)?:\/\//i;

  it("gives every process the same Redis, a cluster, from one key of the shared Secret", () => {
    for (const deployment of deployments) {
      expect({ deployment: deployment.metadata.name, redis: envEntries(deployment, "REDIS_URL") }).toEqual({
        deployment: deployment.metadata.name,
        redis: [{ name: "REDIS_URL", valueFrom: { secretKeyRef: { name: "commerce-shared", key: "REDIS_URL" } } }],
      });
      expect(envEntries(deployment, "REDIS_CLUSTER_NODES")).toEqual([]);
    }
    const urls = new Set(deployments.map((deployment) => configOf(manifests, deployment).redisUrl));
    expect(urls.size).toBe(1);
    const [url] = [...urls];
    expect(isClusterUrl(url!)).toBe(true);
    const { nodes, password } = parseClusterUrl(url!);
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    expect(password).toBeTruthy();
  });

  it("names no Redis anywhere else: no literal env value, no ConfigMap key", () => {
    for (const deployment of deployments) {
      const literals = deployment.spec.template.spec.containers[0].env.filter((entry: { value?: string }) => entry.value !== undefined);
      for (const entry of literals)
        expect({ entry, redis: REDIS_URL_PATTERN.test(String(entry.value)) || /^REDIS_/.test(entry.name) }).toEqual({ entry, redis: false });
    }
    const config = objectData(manifests, "ConfigMap", "commerce-config")!;
    for (const [key, value] of Object.entries(config))
      expect({ key, redis: REDIS_URL_PATTERN.test(value) || /^REDIS_/.test(key) }).toEqual({ key, redis: false });
  });

  it("keeps the keys' own hash tags: each producer's stream in a slot of its own, a group's dead letters and replay in one", () => {
    const { STREAM_PREFIX: prefix } = objectData(manifests, "ConfigMap", "commerce-config")!;
    const streams = producers.map((producer) => slotOf(streamKey(prefix!, producer)));
    expect(new Set(streams).size).toBe(producers.length);
    for (const group of [...SUBGRAPHS, "analytics"]) {
      const slots = [dlqKey, dlqIndexKey, replayKey].map((key) => slotOf(key(prefix!, group)));
      expect({ group, slots: new Set(slots).size }).toEqual({ group, slots: 1 });
    }
  });

  it("switches every process to the cluster that REDIS_CLUSTER_NODES in the ConfigMap names", () => {
    const seeds = "redis-cluster-0.redis-cluster:6379,redis-cluster-1.redis-cluster:6379";
    const patched = manifests.map((m) =>
      m.kind === "ConfigMap" && m.metadata.name === "commerce-config" ? { ...m, data: { ...m.data, REDIS_CLUSTER_NODES: seeds } } : m,
    );
    for (const deployment of deployments)
      expect({ deployment: deployment.metadata.name, url: configOf(patched, deployment).redisUrl }).toEqual({
        deployment: deployment.metadata.name,
        url: `redis+cluster://${seeds}`,
      });
  });

  it("takes each subgraph's DATABASE_URL from its own Secret, and names no shared server elsewhere", () => {
    for (const name of SUBGRAPHS) {
      expect(envEntries(named("Deployment", name)!, "DATABASE_URL")).toEqual([
        { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: `commerce-${name}`, key: "DATABASE_URL" } } },
      ]);
    }
    // libpq-style variables in a shared object would bind every service to one server
    const shared = ["DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE"];
    for (const [kind, name] of [
      ["ConfigMap", "commerce-config"],
      ["Secret", "commerce-shared"],
    ]) {
      const keys = Object.keys(objectData(manifests, kind!, name!)!);
      expect({ name, keys: keys.filter((key) => shared.includes(key)) }).toEqual({ name, keys: [] });
    }
    // the template gives each service a server of its own to fill in
    const hosts = SUBGRAPHS.map((name) => new URL(objectData(manifests, "Secret", `commerce-${name}`)!.DATABASE_URL!).hostname);
    expect(new Set(hosts).size).toBe(SUBGRAPHS.length);
  });
});

describe("self-run Redis Cluster example (ops/deploy/k8s/redis-cluster)", () => {
  const DIR = path.join(__dirname, "redis-cluster");
  const cluster = loadManifests(DIR);
  const statefulSet = cluster.find((m) => m.kind === "StatefulSet")!;
  const config = objectData(cluster, "ConfigMap", "redis-cluster")!;
  const service = cluster.find((m) => m.kind === "Service")!;
  const conf = Object.fromEntries(
    config["redis.conf"]!.split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"))
      .map((line) => [line.split(/\s+/)[0], line.split(/\s+/).slice(1).join(" ")]),
  );

  it("lists its files, and references only objects it defines", () => {
    expect([...loadKustomization(DIR).resources].sort()).toEqual(manifestFiles(DIR));
    for (const pod of cluster.filter((m) => m.spec?.template).map((m) => m.spec.template.spec)) {
      for (const ref of podRefs(pod)) {
        const data = objectData(cluster, ref.kind, ref.name);
        expect({ ref, exists: data !== undefined && (ref.key === undefined || ref.key in data) }).toEqual({ ref, exists: true });
      }
    }
    for (const secret of cluster.filter((m) => m.kind === "Secret"))
      for (const value of Object.values(objectData(cluster, "Secret", secret.metadata.name)!)) expect(value).toMatch(/REPLACE_ME/);
  });

  it("runs three masters with two replicas each, persisted, never evicting", () => {
    // a replica may be down while the relays' WAIT 1 still finds one
    const perMaster = Number(/--cluster-replicas (\d+)\b/.exec(config["bootstrap.sh"]!)?.[1]);
    expect(perMaster).toBeGreaterThanOrEqual(2);
    expect(statefulSet.spec.replicas).toBe(3 * (1 + perMaster));
    // the bootstrap waits for exactly the StatefulSet's pods
    expect(/for i in ([\d ]+);/.exec(config["bootstrap.sh"]!)?.[1]!.trim().split(" ")).toEqual(
      Array.from({ length: statefulSet.spec.replicas }, (_, i) => String(i)),
    );
    expect(conf).toMatchObject({
      "cluster-enabled": "yes",
      appendonly: "yes",
      "maxmemory-policy": "noeviction",
      "cluster-preferred-endpoint-type": "hostname",
    });
    const [container] = statefulSet.spec.template.spec.containers;
    expect(quantity(container.resources.limits.memory)).toBeGreaterThan(quantity(conf.maxmemory!.replace(/mb$/i, "Mi")));
    expect(statefulSet.spec.volumeClaimTemplates[0].metadata.name).toBe(
      container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === conf.dir).name,
    );
  });

  it("gives each pod the DNS name the platform's seeds and the announced host names use", () => {
    expect(statefulSet.spec.serviceName).toBe(service.metadata.name);
    expect(service.spec.clusterIP).toBe("None");
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    expect(service.spec.ports.map((p: { port: number }) => p.port).sort((a: number, b: number) => a - b)).toEqual([6379, 16379]);
    expect(config["start.sh"]).toContain(`cluster-announce-hostname "%s"`);
    expect(config["start.sh"]).toContain(`fqdn="$POD_NAME.${service.metadata.name}.$POD_NAMESPACE.svc.cluster.local"`);
    // the REDIS_URL the README gives: seeds that are pods of this StatefulSet, through this Service
    const readme = fs.readFileSync(path.join(DIR, "README.md"), "utf8");
    const url = /REDIS_URL=(redis\+cluster:\/\/\S+)/.exec(readme)![1]!;
    for (const node of parseClusterUrl(url).nodes) {
      const match = /^(.+)-(\d+)\.(.+)$/.exec(node.host)!;
      expect({ node, pod: match[1], ordinal: Number(match[2]) < statefulSet.spec.replicas, service: match[3] }).toEqual({
        node,
        pod: statefulSet.metadata.name,
        ordinal: true,
        service: service.metadata.name,
      });
      expect(node.port).toBe(6379);
    }
  });

  it("has a redis.conf that a real redis-server accepts in cluster mode", async () => {
    if (!hasCli("redis-server", ["--version"])) return; // the structural checks above still run
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-conf-"));
    const port = await freePort();
    fs.writeFileSync(path.join(dir, "local.conf"), 'requirepass "secret-for-this-test"\ncluster-announce-hostname "redis-cluster-0.local"\n');
    const text = config["redis.conf"]!.replace(/^dir .*$/m, `dir ${dir}`)
      .replace(/^cluster-config-file .*$/m, `cluster-config-file ${dir}/nodes.conf`)
      .replace(/^include .*$/m, `include ${dir}/local.conf`)
      .replace(/^bind .*$/m, "bind 127.0.0.1")
      .replace(/^port .*$/m, `port ${port}`);
    fs.writeFileSync(path.join(dir, "redis.conf"), text);
    const server = spawn("redis-server", [path.join(dir, "redis.conf")], { stdio: "ignore" });
    const redis = new Redis({ port, password: "secret-for-this-test", lazyConnect: true });
    try {
      await waitFor(() => isListening(port), `redis-server on ${port}`, 10_000);
      await redis.connect();
      const get = async (key: string) => ((await redis.config("GET", key)) as string[])[1];
      expect(await get("cluster-enabled")).toBe("yes");
      expect(await get("maxmemory-policy")).toBe("noeviction");
      expect(await get("appendonly")).toBe("yes");
      expect(await get("cluster-preferred-endpoint-type")).toBe("hostname");
      expect(await get("cluster-announce-hostname")).toBe("redis-cluster-0.local");
      expect(await redis.info("cluster")).toMatch(/cluster_enabled:1/);
    } finally {
      redis.disconnect();
      server.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("dashboards and metrics collection", () => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, "ops", "deploy", "grafana", "dashboards", "commerce.json"), "utf8"));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const panels: any[] = dashboard.panels
    .flatMap((p: { panels?: unknown[] }) => [p, ...(p.panels ?? [])])
    .filter((p: { type: string }) => p.type !== "row");
  const exprs: string[] = panels.flatMap((p) => p.targets.map((t: { expr: string }) => t.expr));

  it("gives every panel of the dashboard a PromQL target on the Prometheus datasource", () => {
    expect(dashboard.uid).toBeTruthy();
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect({ panel: panel.title, targets: panel.targets?.length > 0 }).toEqual({ panel: panel.title, targets: true });
      for (const target of panel.targets) {
        expect({ panel: panel.title, expr: typeof target.expr === "string" && target.expr.trim().length > 0 }).toEqual({
          panel: panel.title,
          expr: true,
        });
        expect(target.datasource.type).toBe("prometheus");
        // balanced brackets: a cheap guard against a broken edit of the JSON
        for (const [open, close] of ["()", "{}", "[]"]) expect(target.expr.split(open).length).toBe(target.expr.split(close).length);
      }
    }
    const ids = dashboard.panels.flatMap((p: { id: number; panels?: { id: number }[] }) => [p.id, ...(p.panels ?? []).map((c) => c.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("charts the metrics the processes expose, streams and saga included", () => {
    const kitMetrics = fs.readFileSync(path.join(ROOT, "kit", "src", "metrics.ts"), "utf8");
    const gateway = fs.readFileSync(path.join(ROOT, "gateway", "src", "server.ts"), "utf8");
    for (const metric of ["graphql_operations_total", "graphql_operation_duration_seconds", "db_queries_total"])
      expect(kitMetrics).toContain(`"${metric}"`);
    expect(gateway).toContain('"graphql_subscriptions"');
    const expected = [
      "graphql_operations_total",
      "graphql_operation_duration_seconds_bucket",
      "db_queries_total",
      "graphql_subscriptions",
      "stream_consumer_processed_total",
      "stream_consumer_lag",
      "stream_pending",
      "stream_dead_letters",
      "outbox_slot_lag_bytes",
      "saga_outcomes_total",
    ];
    for (const metric of expected)
      expect({ metric, charted: exprs.some((e) => new RegExp(`\\b${metric}\\b`).test(e)) }).toEqual({ metric, charted: true });
  });

  it("alerts on every relay slot that lags or has no leader, with rules Prometheus loads", () => {
    const prometheus = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/prometheus/prometheus.yml"), "utf8"));
    expect(prometheus.rule_files).toEqual(["alerts.yml"]);
    const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/observability.compose.yml"), "utf8"));
    expect(compose.services.prometheus.volumes).toContain("../prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro");
    const alerts = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/prometheus/alerts.yml"), "utf8"));
    const rules = alerts.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    const kitMetrics = fs.readFileSync(path.join(ROOT, "kit", "src", "stream-metrics.ts"), "utf8");
    for (const name of ["OutboxSlotLagging", "OutboxRelayNoLeader"]) {
      const rule = rules.find((r: { alert: string }) => r.alert === name);
      expect(rule).toBeDefined();
      // every metric a rule reads is one the processes expose
      for (const metric of String(rule.expr).match(/\b(outbox|stream)_[a-z_]+\b/g) ?? []) expect(kitMetrics).toContain(`"${metric}"`);
    }
  });

  it("provisions the Prometheus datasource and the dashboards folder that compose mounts", () => {
    const datasources = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/provisioning/datasources/prometheus.yml"), "utf8"));
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090" })]);
    const providers = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/provisioning/dashboards/dashboards.yml"), "utf8"));
    const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/observability.compose.yml"), "utf8"));
    const mounts: string[] = compose.services.grafana.volumes;
    expect(mounts).toContain(`./dashboards:${providers.providers[0].options.path}:ro`);
  });

  it("scrapes /metrics of every process on its compose service and port", () => {
    const prometheus = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/prometheus/prometheus.yml"), "utf8"));
    const root = YAML.parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true });
    for (const name of PROCESSES) {
      const job = prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === name);
      expect(job?.metrics_path ?? "/metrics").toBe("/metrics");
      expect(job.static_configs.flatMap((c: { targets: string[] }) => c.targets)).toEqual([`${name}:${PORTS[name]}`]);
      expect(String(root.services[name].environment.PORT)).toBe(String(PORTS[name]));
    }
  });

  it("adds Prometheus and Grafana to docker compose only under the observability profile", () => {
    const root = YAML.parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"));
    expect(root.include).toContain("ops/deploy/grafana/observability.compose.yml");
    const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/observability.compose.yml"), "utf8"));
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "prometheus"]);
    for (const [name, service] of Object.entries<{ profiles: string[]; volumes: string[]; healthcheck: unknown }>(compose.services)) {
      expect({ name, profiles: service.profiles }).toEqual({ name, profiles: ["observability"] });
      expect(service.healthcheck).toBeDefined();
      for (const mount of service.volumes.filter((v) => v.startsWith("."))) {
        expect({ mount, exists: fs.existsSync(path.join(ROOT, "ops/deploy/grafana", mount.split(":")[0])) }).toEqual({ mount, exists: true });
      }
    }
    // the default stack is unchanged: none of these names is taken there
    for (const name of Object.keys(compose.services)) expect(root.services[name]).toBeUndefined();
  });

  it("is a valid compose model with the observability profile (docker compose config -q where the plugin exists)", () => {
    if (hasCli("docker", ["compose", "version"])) {
      const result = cli("docker", ["compose", "--profile", "observability", "config", "-q"]);
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
      const services = cli("docker", ["compose", "--profile", "observability", "config", "--services"]).stdout.split("\n");
      expect(services).toEqual(expect.arrayContaining(["prometheus", "grafana", ...PROCESSES]));
      return;
    }
    // Without the plugin (this machine, CI): the checks `config` would make that these files could fail.
    const text = fs.readFileSync(path.join(ROOT, "ops/deploy/grafana/observability.compose.yml"), "utf8");
    expect([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1])).toEqual([]);
    const compose = YAML.parse(text);
    const allowed = ["image", "profiles", "restart", "command", "environment", "volumes", "ports", "depends_on", "healthcheck"];
    for (const [name, service] of Object.entries<Record<string, unknown>>(compose.services)) {
      expect({ name, unknown: Object.keys(service).filter((key) => !allowed.includes(key)) }).toEqual({ name, unknown: [] });
      expect(service.image).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
      for (const mount of service.volumes as string[]) {
        const [source] = mount.split(":");
        if (!source.startsWith(".")) expect({ mount, declared: source in compose.volumes }).toEqual({ mount, declared: true });
      }
      for (const dependency of Object.keys((service.depends_on as object) ?? {})) expect(compose.services[dependency]).toBeDefined();
      for (const port of service.ports as string[]) expect(port).toMatch(/^127\.0\.0\.1:\$\{[A-Z_]+:-\d+\}:\d+$/);
    }
  });
});
