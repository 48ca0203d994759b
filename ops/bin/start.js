#!/usr/bin/env node
"use strict";
// npm start: install deps when missing, then run ops/commands/start.ts (provisions Postgres/Redis/SMTP, starts everything).
const { ensureDeps, runAndExit } = require("./ensure-deps");

ensureDeps();
runAndExit(["-r", "@swc-node/register", "ops/commands/start.ts", ...process.argv.slice(2)]);
