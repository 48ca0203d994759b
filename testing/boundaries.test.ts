import { spawnSync } from "node:child_process";
import path from "node:path";

/** The workspace boundaries of .dependency-cruiser.js (a subgraph never imports another, streams nothing above it…). */
test("no import crosses a workspace boundary", () => {
  const root = path.join(__dirname, "..");
  const cli = path.join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
  const result = spawnSync(
    process.execPath,
    [cli, "--validate", ".dependency-cruiser.js", "--output-type", "err", "kit", "streams", "schema", "gateway", "ops", "testing", "subgraphs"],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  expect(result.stdout + result.stderr).toMatch(/no dependency violations found/);
  expect(result.status).toBe(0);
}, 120_000);
