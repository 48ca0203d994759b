import { spawnSync } from "node:child_process";
import path from "node:path";

/** The code runs untyped through swc; this keeps the whole repository honest to its types. */
test("the repository type-checks (tsc --noEmit)", () => {
  const root = path.join(__dirname, "..");
  const tsc = require.resolve("typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "--noEmit", "-p", path.join(root, "tsconfig.json")], { cwd: root, encoding: "utf8" });
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
}, 180_000);
