/** Workspace boundaries, checked by `npm test` (testing/boundaries.test.ts) and `npm run boundaries`. */
const WORKSPACE = "^(kit|streams|schema|gateway|ops|testing|subgraphs/[^/]+)/";
const SUBGRAPHS = "(user|product|order|payment|notification)";
// Symlinks are kept: a workspace imported by name resolves under node_modules/@commerce/, one reached by a path does not.
const pkg = (names) => `^node_modules/@commerce/${names}/`;

module.exports = {
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
