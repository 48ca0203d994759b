"use strict";
// Shared by the ops/bin entry points: install dependencies when node_modules is missing, then run things.
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");

/** Names of the workspaces whose link in node_modules is missing (a workspace added since the last install). */
function unlinkedWorkspaces() {
  const { workspaces = [] } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const dirs = workspaces.flatMap((pattern) =>
    pattern.endsWith("/*") ? fs.readdirSync(path.join(ROOT, pattern.slice(0, -2))).map((d) => path.join(pattern.slice(0, -2), d)) : [pattern],
  );
  return dirs
    .map((dir) => path.join(ROOT, dir, "package.json"))
    .filter((file) => fs.existsSync(file))
    .map((file) => JSON.parse(fs.readFileSync(file, "utf8")).name)
    .filter((name) => !fs.existsSync(path.join(ROOT, "node_modules", name)));
}

/** `npm install` (output streamed) when @swc-node/register is not installed yet or a workspace is not linked. */
function ensureDeps() {
  const marker = path.join(ROOT, "node_modules", "@swc-node", "register", "package.json");
  const installed = fs.existsSync(marker);
  const unlinked = installed ? unlinkedWorkspaces() : [];
  if (installed && unlinked.length === 0) return;
  console.log(
    installed
      ? `[ops] workspace(s) ${unlinked.join(", ")} not linked in node_modules: running \`npm install --no-audit --no-fund\`…`
      : "[ops] node_modules is missing: running `npm install --no-audit --no-fund` (first run only)…",
  );
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(npm, ["install", "--no-audit", "--no-fund"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0 || !fs.existsSync(marker)) {
    console.error(`[ops] npm install failed (exit ${r.status ?? r.signal}); cannot continue.`);
    process.exit(r.status || 1);
  }
}

/**
 * Run a child to completion with inherited stdio and exit with its code. SIGTERM/SIGHUP sent to us
 * are forwarded so the child can shut down gracefully; SIGINT is not (a Ctrl-C in the terminal already
 * reaches the whole foreground process group, the child included), we just wait for the child.
 */
function runAndExit(args, options = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit", ...options });
  const forward = (signal) => {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  };
  process.on("SIGINT", () => {});
  for (const s of ["SIGTERM", "SIGHUP"]) process.on(s, () => forward(s));
  child.on("exit", (code, signal) => {
    if (signal) process.exit(128 + (require("node:os").constants.signals[signal] || 1));
    process.exit(code ?? 1);
  });
  child.on("error", (err) => {
    console.error(`[ops] cannot start ${args.join(" ")}: ${err.message}`);
    process.exit(1);
  });
}

/** `ops/bench` → ops/bench/index.ts|main.ts|run.ts; `x.ts` as is. */
function resolveEntry(target) {
  const abs = path.resolve(ROOT, target);
  const candidates = [abs, `${abs}.ts`, ...["index.ts", "main.ts", "run.ts"].map((f) => path.join(abs, f))];
  return candidates.find((f) => fs.existsSync(f) && fs.statSync(f).isFile()) || null;
}

module.exports = { ROOT, ensureDeps, runAndExit, resolveEntry };
