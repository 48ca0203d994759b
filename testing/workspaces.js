const fs = require("node:fs");
const path = require("node:path");

/** Test-only code: it may import devDependencies and does not count towards package cycles. */
const TEST_ONLY = "(\\.test\\.ts|/test-support\\.ts)$|/(testing|e2e)/";

/** The workspaces below `root`: folder, short name (`@commerce/<short>`), declared workspaces, entry files. */
function readWorkspaces(root) {
  const patterns = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).workspaces;
  const dirs = patterns.flatMap((pattern) =>
    pattern.endsWith("/*")
      ? fs
          .readdirSync(path.join(root, pattern.slice(0, -2)))
          .map((name) => `${pattern.slice(0, -2)}/${name}`)
          .filter((dir) => fs.existsSync(path.join(root, dir, "package.json")))
      : [pattern],
  );
  return dirs.map((dir) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8"));
    const workspaces = (deps) => Object.keys(deps ?? {}).filter((name) => name.startsWith("@commerce/"));
    const exportsMap = typeof manifest.exports === "string" ? { ".": manifest.exports } : (manifest.exports ?? { ".": manifest.main });
    return {
      dir,
      name: manifest.name,
      short: manifest.name.replace(/^@commerce\//, ""),
      dependencies: workspaces(manifest.dependencies),
      devDependencies: workspaces(manifest.devDependencies),
      entries: Object.values(exportsMap).map((file) => path.posix.normalize(file)),
    };
  });
}

module.exports = { readWorkspaces, TEST_ONLY };
