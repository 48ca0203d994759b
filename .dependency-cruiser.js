/**
 * Workspace boundaries, checked by `npm test` (testing/boundaries.test.ts) and `npm run boundaries`.
 * The generic rules are derived from the workspaces' package.json files (docs/CONVENTIONS.md, "Boundaries").
 */
const { readWorkspaces, TEST_ONLY } = require("./testing/workspaces");

const SUBGRAPHS = "(user|product|order|payment|notification)";
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Workspaces that `start` depends on, directly or not, through `dependencies` (devDependencies serve tests only). */
function dependedOn(byName, start) {
  const seen = new Set();
  const visit = (name) => {
    for (const dep of byName.get(name)?.dependencies ?? []) if (!seen.has(dep)) (seen.add(dep), visit(dep));
  };
  visit(start);
  return seen;
}

function configFor(root) {
  const workspaces = readWorkspaces(root);
  const byName = new Map(workspaces.map((ws) => [ws.name, ws]));
  const WORKSPACE = `^(${workspaces.map((ws) => escape(ws.dir)).join("|")})/`;
  // Symlinks are kept: a workspace imported by name resolves under node_modules/@commerce/, one reached by a path does not.
  const pkg = (names) => `^node_modules/@commerce/${names}/`;
  const entries = workspaces.flatMap((ws) => ws.entries.map((file) => `${escape(ws.short)}/${escape(file)}`));
  const cycles = workspaces.flatMap((ws) => {
    const closing = workspaces.filter((other) => other !== ws && dependedOn(byName, other.name).has(ws.name));
    if (!closing.length) return [];
    return [
      {
        name: "package-cycle",
        comment: `${ws.name} imports a workspace that depends on it (its package.json, directly or not).`,
        severity: "error",
        from: { path: `^${escape(ws.dir)}/`, pathNot: TEST_ONLY },
        to: { path: pkg(`(${closing.map((other) => escape(other.short)).join("|")})`) },
      },
    ];
  });

  return {
    forbidden: [
      {
        name: "subgraph-imports-subgraph",
        comment: "A subgraph knows another only through the saga events and federation.",
        severity: "error",
        from: { path: `^subgraphs/${SUBGRAPHS}/` },
        to: { path: `^subgraphs/|${pkg(SUBGRAPHS)}`, pathNot: "^subgraphs/$1/|^node_modules/@commerce/$1/" },
      },
      {
        name: "streams-imports-upward",
        comment: "streams/ is the event backbone: it imports neither the kit, a subgraph nor the gateway.",
        severity: "error",
        from: { path: "^streams/" },
        to: { path: `^(kit|subgraphs|gateway)/|${pkg(`(kit|gateway|${SUBGRAPHS})`)}` },
      },
      {
        name: "kit-imports-subgraph",
        severity: "error",
        from: { path: "^kit/" },
        to: { path: `^subgraphs/|${pkg(SUBGRAPHS)}` },
      },
      {
        name: "gateway-imports-subgraph",
        comment: "The gateway knows subgraphs only through SDL and URLs, in tests too.",
        severity: "error",
        from: { path: "^gateway/" },
        to: { path: `^subgraphs/|${pkg(SUBGRAPHS)}` },
      },
      {
        name: "relative-import-into-another-workspace",
        comment: "Another workspace is imported by its package name (@commerce/…), never by a path into its files.",
        severity: "error",
        from: { path: WORKSPACE },
        to: { path: WORKSPACE, pathNot: "^$1/" },
      },
      {
        name: "package-internals",
        comment: "A workspace is imported through its package.json `main` or `exports` only.",
        severity: "error",
        from: {},
        to: { path: pkg("[^/]+"), pathNot: `^node_modules/@commerce/(${entries.join("|")})$` },
      },
      {
        name: "undeclared-workspace",
        comment: "A workspace imports only the workspaces its package.json declares.",
        severity: "error",
        from: {},
        to: { path: pkg("[^/]+"), dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
      },
      {
        name: "dev-workspace-outside-tests",
        comment: "devDependencies serve tests; code that runs imports only `dependencies`.",
        severity: "error",
        from: { pathNot: TEST_ONLY },
        to: { path: pkg("[^/]+"), dependencyTypes: ["npm-dev"] },
      },
      ...cycles,
    ],
    options: {
      doNotFollow: { path: "node_modules" },
      exclude: { path: "(^|/)\\.data/" },
      tsConfig: { fileName: "tsconfig.json" },
      preserveSymlinks: true,
      tsPreCompilationDeps: true,
      combinedDependencies: true,
      enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["require", "node", "default"] },
    },
  };
}

// Paths in rules are relative to the folder depcruise runs in, so the workspaces are read from there too.
module.exports = configFor(process.cwd());
