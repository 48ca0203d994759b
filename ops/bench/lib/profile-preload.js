"use strict";
// Preloaded (NODE_OPTIONS=--require) into processes the saga bench profiles: the first SIGUSR2 starts
// the V8 CPU profiler, the second writes <BENCH_PROFILE_DIR>/<name>-<pid>.cpuprofile. So the profile
// covers the measured step only, not start-up (node refuses --cpu-prof in NODE_OPTIONS anyway).
const fs = require("node:fs");
const path = require("node:path");
const inspector = require("node:inspector");

const session = new inspector.Session();
session.connect();
let running = false;
process.on("SIGUSR2", () => {
  if (!running) {
    running = true;
    session.post("Profiler.enable", () => session.post("Profiler.start"));
    return;
  }
  running = false;
  session.post("Profiler.stop", (error, result) => {
    if (error) return;
    const dir = process.env.BENCH_PROFILE_DIR || ".";
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${process.env.BENCH_PROFILE_NAME || "process"}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
