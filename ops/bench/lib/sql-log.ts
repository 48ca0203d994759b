/**
 * Which SQL statements a step costs, by shape and database: turns Postgres's `log_statement = all`
 * on for the step (a reload, no restart), then groups the log lines it wrote. A diagnostic
 * (BENCH_LOG_SQL=1): logging every statement costs the server CPU of its own.
 */
import fs from "node:fs";
import { Client } from "pg";

async function setLogging(adminUrl: string, on: boolean): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    if (on) {
      await client.query(`alter system set log_statement = 'all'`);
      await client.query(`alter system set log_line_prefix = '%d|'`);
    } else {
      await client.query("alter system reset log_statement");
      await client.query("alter system reset log_line_prefix");
    }
    await client.query("select pg_reload_conf()");
  } finally {
    await client.end();
  }
}

/** Starts logging; the returned function stops it and returns the statement counts by database and shape. */
export async function recordStatements(adminUrl: string, logFile: string): Promise<() => Promise<Map<string, number>>> {
  const from = fs.statSync(logFile).size;
  await setLogging(adminUrl, true);
  return async () => {
    await setLogging(adminUrl, false);
    const fd = fs.openSync(logFile, "r");
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(size - from);
    fs.readSync(fd, buffer, 0, buffer.length, from);
    fs.closeSync(fd);
    const counts = new Map<string, number>();
    for (const line of buffer.toString("utf8").split("\n")) {
      const match = /^([^|]*)\|LOG:\s+statement: (.*)$/.exec(line);
      if (!match) continue;
      // shape: literals and parameter lists collapsed, first 90 characters
      const shape = match[2]!
        .replace(/'[^']*'/g, "?")
        .replace(/\$\d+(, ?\$\d+)*/g, "$n")
        .replace(/\s+/g, " ")
        .slice(0, 90);
      const key = `${match[1]!.replace(/^commerce_/, "")} ${shape}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
}
