/**
 * Reading the Kubernetes base without a cluster, for `manifests.test.ts`: every YAML document of
 * `ops/deploy/k8s/`, indexed by kind and name, and the environment a Deployment's container would get.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

/** A parsed manifest: only the fields the checks read are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  file: string;
}

export const K8S_DIR = __dirname;

/** The YAML files of the base (or of `dir`), kustomization.yaml excepted. */
export function manifestFiles(dir = K8S_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name) && name !== "kustomization.yaml")
    .sort();
}

/** Every document of every file of the base (or of `dir`); a YAML error fails with the file's name. */
export function loadManifests(dir = K8S_DIR): Manifest[] {
  return manifestFiles(dir).flatMap((file) => {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8"));
    return docs
      .map((doc) => {
        if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
        return doc.toJS() as Omit<Manifest, "file"> | null;
      })
      .filter((doc): doc is Omit<Manifest, "file"> => doc !== null)
      .map((doc) => ({ ...doc, file }));
  });
}

export function loadKustomization(dir = K8S_DIR): { resources: string[]; images?: { name: string }[]; namespace?: string } {
  return YAML.parse(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
}

/** `gateway 4000, user 4001, …` from the Ports section of docs/CONVENTIONS.md. */
export function conventionPorts(root: string): Record<string, number> {
  const text = fs.readFileSync(path.join(root, "docs", "CONVENTIONS.md"), "utf8");
  const section = text.split("## Ports")[1]?.split("\n## ")[0] ?? "";
  return Object.fromEntries([...section.matchAll(/\b([a-z]+) (\d{4,5})\b/g)].map((m) => [m[1], Number(m[2])]));
}

/** A reference from a pod to a ConfigMap or Secret (key undefined = the whole object). */
export interface ObjectRef {
  kind: "ConfigMap" | "Secret";
  name: string;
  key?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podRefs(podSpec: any): ObjectRef[] {
  const refs: ObjectRef[] = [];
  for (const container of [...(podSpec.initContainers ?? []), ...podSpec.containers]) {
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef) refs.push({ kind: "ConfigMap", name: from.configMapRef.name });
      if (from.secretRef) refs.push({ kind: "Secret", name: from.secretRef.name });
    }
    for (const env of container.env ?? []) {
      const cm = env.valueFrom?.configMapKeyRef;
      const secret = env.valueFrom?.secretKeyRef;
      if (cm) refs.push({ kind: "ConfigMap", name: cm.name, key: cm.key });
      if (secret) refs.push({ kind: "Secret", name: secret.name, key: secret.key });
    }
  }
  for (const volume of podSpec.volumes ?? []) {
    if (volume.configMap) refs.push({ kind: "ConfigMap", name: volume.configMap.name });
    if (volume.secret) refs.push({ kind: "Secret", name: volume.secret.secretName });
  }
  return refs;
}

/** The data of a ConfigMap or Secret of the base (Secrets may use `data`, base64, or `stringData`). */
export function objectData(manifests: Manifest[], kind: string, name: string): Record<string, string> | undefined {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) return undefined;
  const decoded = Object.fromEntries(
    Object.entries(found.data ?? {}).map(([k, v]) => [k, kind === "Secret" ? Buffer.from(v, "base64").toString("utf8") : v]),
  );
  return { ...decoded, ...(found.stringData ?? {}) };
}

/** The environment the first container of a pod would start with, resolved from the base's objects. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function containerEnv(manifests: Manifest[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    Object.assign(env, objectData(manifests, from.configMapRef ? "ConfigMap" : "Secret", ref.name) ?? {});
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.configMapKeyRef ?? entry.valueFrom?.secretKeyRef;
    if (entry.value !== undefined) env[entry.name] = String(entry.value);
    else if (ref) env[entry.name] = objectData(manifests, entry.valueFrom.configMapKeyRef ? "ConfigMap" : "Secret", ref.name)?.[ref.key] ?? "";
  }
  return env;
}

/** Kubernetes quantities (`100m`, `1`, `512Mi`, `1G`) as numbers, to compare requests with limits. */
export function quantity(value: string | number): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const units: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  if (!(match[2] in units)) throw new Error(`unknown unit in ${value}`);
  return Number(match[1]) * units[match[2]];
}

/** Whether `selector` (matchLabels) selects pods labelled `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !Object.keys(selector).length) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
