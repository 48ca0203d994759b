#!/usr/bin/env node
"use strict";
/*
 * npm test: install deps when missing, then run jest (jest.config.js at the root). Jest's globalSetup
 * provisions a throwaway Postgres + Redis + SMTP sink for the whole run.
 *
 *   npm test                        everything
 *   npm test -- --unit              only *.test.ts that are neither .int nor .e2e (no infrastructure started)
 *   npm test -- --int | --e2e       only *.int.test.ts | *.e2e.test.ts
 *   npm test -- <jest args…>        anything jest understands (paths, -t, --runInBand, …)
 */
const { ensureDeps, runAndExit } = require("./ensure-deps");

ensureDeps();
const args = [];
const env = { ...process.env };
for (const arg of process.argv.slice(2)) {
  if (arg === "--unit") {
    args.push("--testPathIgnorePatterns", "/node_modules/", "/\\.data/", "\\.(int|e2e)\\.test\\.ts$");
    env.TEST_INFRA = env.TEST_INFRA || "none";
  } else if (arg === "--int") args.push("\\.int\\.test\\.ts$");
  else if (arg === "--e2e") args.push("\\.e2e\\.test\\.ts$");
  else args.push(arg);
}
if (env.CI && !args.includes("--ci")) args.push("--ci");
runAndExit([require.resolve("jest/bin/jest"), ...args], { env });
