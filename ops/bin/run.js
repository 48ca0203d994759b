#!/usr/bin/env node
"use strict";
// node ops/bin/run.js <file.ts | folder> [args…]: install deps when missing, then run the TypeScript file.
const path = require("node:path");
const { ROOT, ensureDeps, runAndExit, resolveEntry } = require("./ensure-deps");

const [target, ...args] = process.argv.slice(2);
if (!target) {
  console.error("usage: node ops/bin/run.js <file.ts | folder with index.ts/main.ts/run.ts> [args…]");
  process.exit(2);
}
ensureDeps();
const entry = resolveEntry(target);
if (!entry) {
  console.error(`[ops] ${target} does not exist (yet) in ${ROOT}`);
  process.exit(2);
}
runAndExit(["-r", "@swc-node/register", path.relative(ROOT, entry), ...args]);
