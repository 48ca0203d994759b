import { spawnSync } from "node:child_process";
import path from "node:path";

/** Runs the dlq command with no Redis to talk to: every case here is refused before connecting. */
function dlq(...args: string[]) {
  const run = spawnSync(process.execPath, ["-r", "@swc-node/register", path.join(__dirname, "dlq.ts"), ...args], {
    encoding: "utf8",
    env: { ...process.env, REDIS_URL: "redis://127.0.0.1:1" },
    timeout: 60_000,
  });
  return { code: run.status, stderr: run.stderr };
}

describe("npm run dlq", () => {
  it("refuses a service that consumes no events instead of reporting no dead letters", () => {
    for (const service of ["nosuchservice", "notifications", "user", "gateway"]) {
      const { code, stderr } = dlq("list", service);
      expect(code).toBe(2);
      expect(stderr).toMatch(/consumes no events.*product, order, payment, notification/);
    }
  });

  it("refuses a count that is not a whole number from 1 to 10000", () => {
    for (const count of ["abc", "-5", "0", "1.5", "10001", "0x10", "1e3", " 5 "]) {
      const { code, stderr } = dlq("list", "order", count);
      expect(code).toBe(2);
      expect(stderr).toMatch(/count must be a whole number/);
    }
  });
});
