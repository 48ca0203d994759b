import { spawn, SpawnOptions } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export type Logger = (message: string) => void;
export const silent: Logger = () => {};

/** The repository root (ops/provision → ../..). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/** A port nobody listens on right now (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is free, else any free port. */
export async function pickPort(preferred?: number): Promise<number> {
  if (preferred && (await isPortFree(preferred))) return preferred;
  return freePort();
}

/** true when something accepts TCP connections on host:port. */
export function isListening(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends SpawnOptions {
  /** Echo the command's output through this logger, line by line. */
  stream?: Logger;
  /** Resolve instead of rejecting on a non-zero exit. */
  allowFail?: boolean;
  input?: string;
}

/** Run a command to completion, collecting its output. Rejects on non-zero exit unless allowFail. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { stream, allowFail, input, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...spawnOptions });
    } catch (err) {
      reject(err);
      return;
    }
    let stdout = "";
    let stderr = "";
    const echo = (chunk: Buffer) => {
      if (!stream) return;
      for (const line of chunk.toString().split(/\r?\n/)) if (line.trim()) stream(line);
    };
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
      echo(c);
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
      echo(c);
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const result = { code, signal, stdout, stderr };
      if (code !== 0 && !allowFail) {
        const err = new Error(
          `${command} ${args.join(" ")} exited with ${code ?? signal}\n${(stderr || stdout).trim().split("\n").slice(-20).join("\n")}`,
        ) as Error & { result: RunResult };
        err.result = result;
        reject(err);
      } else resolve(result);
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** Find an executable on PATH (plus a few usual sbin dirs). */
export function which(name: string): string | null {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Poll `check` until it returns true or the time runs out. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The last `n` lines of a file ('' when it cannot be read). */
export function tailFile(file: string, n = 30): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "";
  }
}

/** Send one inline command to a Redis server and return its first reply line. */
export function redisCommand(port: number, command: string, host = "127.0.0.1", timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${command}: timeout`));
    }, timeoutMs);
    socket.once("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.includes("\r\n")) {
        clearTimeout(timer);
        socket.end();
        resolve(data.split("\r\n")[0]);
      }
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(data.split("\r\n")[0] ?? "");
    });
  });
}
