/**
 * What `npm start` and the e2e helper `startPlatform()` share: the service list, default ports, the
 * environment every process gets (see docs/CONVENTIONS.md), and a managed child process
 * (`node -r @swc-node/register <entry>`) with health waiting and graceful stop.
 */
import { ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_PORTS, SUBGRAPHS, type ProcessName, type SubgraphName } from "@commerce/kit/services";
import { REPO_ROOT, sleep } from "./util";

/** The subgraphs, by the names kit gives them. */
export const SERVICES = SUBGRAPHS;
export type ServiceName = SubgraphName;
export type { ProcessName };
export { DEFAULT_PORTS };
/** The services that consume events (each a consumer group with its dead letters); user only produces. */
export const CONSUMING_SERVICES: readonly ServiceName[] = ["product", "order", "payment", "notification"];
/** Consumer groups of read models, named apart from their service (the notification service runs `analytics`). */
export const PROJECTION_GROUPS: readonly string[] = ["analytics"];

export const DEMO_LOGINS = [
  { role: "ADMIN", email: "admin@example.com", password: "admin-password-123" },
  { role: "STAFF", email: "staff@example.com", password: "staff-password-123" },
  { role: "CUSTOMER", email: "customer@example.com", password: "customer-password-123" },
];

/** Entry file of a process, relative to the app root. */
export function entryOf(name: ProcessName, appRoot = REPO_ROOT): string {
  return name === "gateway" ? path.join(appRoot, "gateway", "src", "main.ts") : path.join(appRoot, "subgraphs", name, "src", "main.ts");
}

export function randomSecret(bytes = 32): string {
  return crypto.randomBytes(bytes).toString("base64url");
}

export interface CommonEnvInput {
  ports: Record<ProcessName, number>;
  redisUrl: string;
  streamPrefix: string;
  internalSecret: string;
  jwtKeys: string;
  smtpUrl: string;
  nodeEnv: "development" | "test" | "production";
  extra?: Record<string, string | undefined>;
}

/** Env shared by all processes (PORT and DATABASE_URL are added per process). */
export function commonEnv(input: CommonEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: input.nodeEnv,
    REDIS_URL: input.redisUrl,
    STREAM_PREFIX: input.streamPrefix,
    INTERNAL_SECRET: input.internalSecret,
    JWT_KEYS: input.jwtKeys,
    SMTP_URL: input.smtpUrl,
    ADMIN_EMAIL: DEMO_LOGINS[0].email,
    ADMIN_PASSWORD: DEMO_LOGINS[0].password,
  };
  for (const svc of SERVICES) env[`SUBGRAPH_${svc.toUpperCase()}_URL`] = `http://127.0.0.1:${input.ports[svc]}/graphql`;
  for (const [k, v] of Object.entries(input.extra ?? {})) if (v !== undefined) env[k] = v;
  return env;
}

/**
 * The environment of a throwaway platform (tests, benchmarks, drills): fresh secrets, two JWT keys
 * (so key rotation is exercised), and `streamPrefix` for its streams.
 */
export function throwawayEnv(input: Omit<CommonEnvInput, "internalSecret" | "jwtKeys" | "nodeEnv">): Record<string, string> {
  return commonEnv({
    ...input,
    internalSecret: randomSecret(),
    jwtKeys: `k1:${randomSecret()},k0:${randomSecret()}`,
    nodeEnv: "test",
    // Tests' customers shop at once; `npm start` opens wallets empty, as production does, and the seed funds its demo customer.
    extra: { WALLET_OPENING_BALANCE: "100000", ...input.extra },
  });
}

/** A stream prefix no other run uses, e.g. `bench_3f9a1c2e`. */
export function uniqueStreamPrefix(label: string): string {
  return `${label}_${randomSecret(4)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")}`;
}

/** process.env without what must not leak into children (jest's worker id, a parent DATABASE_URL…). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(JEST_|TEST_|DATABASE_URL$|REDIS_URL$|REDIS_CLUSTER_NODES$|PORT$|NODE_ENV$|SUBGRAPH_)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

export type Output = { kind: "prefix"; write: (line: string) => void } | { kind: "file"; path: string; echo?: (line: string) => void };

export interface ManagedProcessOptions {
  name: string;
  entry: string;
  env: Record<string, string>;
  cwd?: string;
  output: Output;
  /** called when the process exits on its own (not through stop/kill) */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A `node -r @swc-node/register <entry>` child in its own process group. */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private lines: string[] = [];
  private expectingExit = false;
  private exitPromise: Promise<void> = Promise.resolve();
  private fileStream: fs.WriteStream | null = null;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  constructor(private readonly options: ManagedProcessOptions) {}

  get name() {
    return this.options.name;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const { entry, env, cwd, output } = this.options;
    this.expectingExit = false;
    this.exitCode = null;
    this.exitSignal = null;
    if (output.kind === "file") {
      fs.mkdirSync(path.dirname(output.path), { recursive: true });
      this.fileStream = fs.createWriteStream(output.path, { flags: "a" });
      this.fileStream.write(`\n===== ${new Date().toISOString()} start ${this.name}: ${entry}\n`);
    }
    const child = spawn(process.execPath, ["-r", "@swc-node/register", entry], {
      cwd: cwd ?? REPO_ROOT,
      env: { ...env, FORCE_COLOR: env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0") },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group: Ctrl-C reaches only the orchestrator, which stops children in order
    });
    this.child = child;
    const onData = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString();
        const parts = text.split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) this.line(line);
      });
      stream.on("end", () => {
        if (partial) this.line(partial);
      });
    };
    onData(child.stdout!);
    onData(child.stderr!);
    this.exitPromise = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.fileStream?.write(`===== exited with ${code ?? signal}\n`);
        if (!this.expectingExit) this.options.onUnexpectedExit?.(code, signal);
        resolve();
      });
      child.once("error", (err) => {
        this.line(`spawn error: ${err.message}`);
        resolve();
      });
    });
  }

  private line(line: string) {
    this.lines.push(line);
    if (this.lines.length > 200) this.lines.splice(0, this.lines.length - 200);
    const out = this.options.output;
    if (out.kind === "prefix") out.write(line);
    else {
      this.fileStream?.write(line + "\n");
      out.echo?.(line);
    }
  }

  lastLines(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Poll `url` until it answers 200; fails early (with the last log lines) if the process exits. */
  async waitHealthy(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} exited (${this.exitCode ?? this.exitSignal}) before becoming healthy. Last log lines:\n${this.lastLines(40)}`);
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) {
          // Healthy only if it is this process answering: another platform's process on a reused port is not.
          const { service } = (await res.json().catch(() => ({}))) as { service?: string };
          if (service === undefined || service === this.name || this.name.startsWith(`${service}-`)) return;
          last = `port answered by another process (${service})`;
        } else last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(250);
    }
    throw new Error(`${this.name} did not become healthy at ${url} within ${timeoutMs} ms (last: ${last}). Last log lines:\n${this.lastLines(40)}`);
  }

  /** Sends `signal` to the process group and returns (SIGSTOP / SIGCONT pause and resume it). */
  signal(signal: NodeJS.Signals): void {
    this.signalGroup(signal);
  }

  private signalGroup(signal: NodeJS.Signals) {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child?.kill(signal);
      } catch {
        /* gone */
      }
    }
  }

  /** Send `signal` and wait until the process is gone (no SIGKILL escalation). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    this.signalGroup(signal);
    await this.exitPromise;
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) {
      this.fileStream?.end();
      return;
    }
    this.expectingExit = true;
    this.signalGroup("SIGTERM");
    const timer = setTimeout(() => this.signalGroup("SIGKILL"), timeoutMs);
    await this.exitPromise;
    clearTimeout(timer);
    // the group may still hold grandchildren
    this.signalGroup("SIGKILL");
    this.fileStream?.end();
  }
}
