"use strict";
/*
 * Reaper: `node reaper.js <config.json>` cleans up what `parentPid` started once that process is gone,
 * so nothing is left orphaned; the config and its actions: ops/README.md ("Where things come from").
 */
const fs = require("node:fs");
const net = require("node:net");
const { spawnSync } = require("node:child_process");

const configFile = process.argv[2];
let config = null;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

function readConfig() {
  try {
    config = JSON.parse(fs.readFileSync(configFile, "utf8"));
  } catch (err) {
    if (err.code === "ENOENT") process.exit(0);
    /* half-written: keep the previous one */
  }
}

function redisShutdown(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(3000, done);
    socket.once("connect", () => socket.write("SHUTDOWN\r\n"));
    socket.once("error", done);
    socket.once("close", done);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function cleanup() {
  // processes first, servers next, files last (a data dir must outlive its server's shutdown)
  const order = { pids: 0, redis: 1, pg: 2, rm: 3 };
  const actions = ((config && config.actions) || []).slice().sort((a, b) => (order[a.kind] ?? 9) - (order[b.kind] ?? 9));
  for (const action of actions) {
    try {
      if (action.kind === "pids") {
        const pids = action.pids.filter(alive);
        for (const pid of pids) {
          try {
            process.kill(-pid, "SIGTERM"); // its process group (children are spawned detached)
          } catch {
            try {
              process.kill(pid, "SIGTERM");
            } catch {
              /* gone */
            }
          }
        }
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && pids.some(alive)) await sleep(100);
        for (const pid of pids.filter(alive)) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              /* gone */
            }
          }
        }
      } else if (action.kind === "redis") {
        await redisShutdown(action.port);
      } else if (action.kind === "pg") {
        const args = ["stop", "-D", action.dataDir, "-m", "fast", "-w", "-t", "30"];
        const pgCtl = `${action.bindir}/pg_ctl`;
        if (action.user) spawnSync("runuser", ["-u", action.user, "--", pgCtl, ...args], { stdio: "ignore", cwd: "/" });
        else spawnSync(pgCtl, args, { stdio: "ignore", cwd: "/" });
      } else if (action.kind === "rm") {
        fs.rmSync(action.path, { recursive: true, force: true });
      }
    } catch {
      /* best effort */
    }
  }
  try {
    fs.rmSync(configFile, { force: true });
  } catch {
    /* ignore */
  }
  process.exit(0);
}

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => {}); // a Ctrl-C in the terminal is the parent's business
process.on("SIGHUP", () => {});

readConfig();
if (!config) process.exit(0);
let cleaning = false;
setInterval(() => {
  if (cleaning) return;
  readConfig();
  if (!alive(config.parentPid)) {
    cleaning = true;
    cleanup();
  }
}, 500);
