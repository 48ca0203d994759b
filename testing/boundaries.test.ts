import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readWorkspaces, TEST_ONLY } from "./workspaces";

const ROOT = path.join(__dirname, "..");
const CONFIG = path.join(ROOT, ".dependency-cruiser.js");
const CLI = path.join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Cruise {
  modules: { source: string; dependencies: { resolved: string }[] }[];
  summary: { violations: { rule: { name: string }; from: string; to: string }[] };
}

/** depcruise's JSON over `folders` of the repository laid out in `cwd`, validated against the repository's rules. */
function cruise(cwd: string, folders: string[]): Cruise {
  const result = spawnSync(process.execPath, [CLI, "--config", CONFIG, "--output-type", "json", ...folders], {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0 && !result.stdout) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Cruise;
}

const violations = (result: Cruise) => result.summary.violations.map(({ rule, from, to }) => `${rule.name}: ${from} → ${to}`);

describe("workspace boundaries (.dependency-cruiser.js)", () => {
  let repo: Cruise;
  beforeAll(() => {
    repo = cruise(ROOT, ["kit", "streams", "schema", "gateway", "ops", "testing", "subgraphs"]);
  }, 120_000);

  it("no import crosses a workspace boundary", () => {
    expect(violations(repo)).toEqual([]);
  });

  it("every package.json declares exactly the workspaces its files import (tests' only as devDependencies)", () => {
    const testOnly = new RegExp(TEST_ONLY);
    for (const ws of readWorkspaces(ROOT)) {
      const runtime = new Set<string>();
      const tests = new Set<string>();
      for (const module of repo.modules.filter((m) => m.source.startsWith(`${ws.dir}/`))) {
        for (const { resolved } of module.dependencies) {
          const name = /^node_modules\/(@commerce\/[^/]+)\//.exec(resolved)?.[1];
          if (name && name !== ws.name) (testOnly.test(module.source) ? tests : runtime).add(name);
        }
      }
      const declared = { dependencies: [...ws.dependencies].sort(), devDependencies: [...ws.devDependencies].sort() };
      const imported = { dependencies: [...runtime].sort(), devDependencies: [...tests].filter((name) => !runtime.has(name)).sort() };
      expect({ [ws.dir]: declared }).toEqual({ [ws.dir]: imported });
    }
  });

  it("catches each kind of violation in a repository that has them", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "boundaries-"));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    const manifest = (name: string, main: string, dependencies: string[], devDependencies: string[] = []) =>
      JSON.stringify({
        name: `@commerce/${name}`,
        main,
        dependencies: Object.fromEntries(dependencies.map((dep) => [`@commerce/${dep}`, "0.1.0"])),
        devDependencies: Object.fromEntries(devDependencies.map((dep) => [`@commerce/${dep}`, "0.1.0"])),
      });
    try {
      write("package.json", JSON.stringify({ name: "fixture", private: true, workspaces: ["kit", "streams", "schema"] }));
      write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "Node16", moduleResolution: "Node16" } }));
      write("schema/package.json", manifest("schema", "events/index.ts", []));
      write("schema/events/index.ts", `import { kit } from "@commerce/kit";\nexport const schema = kit;\n`);
      write("streams/package.json", manifest("streams", "src/index.ts", ["kit"], ["schema"]));
      write("streams/src/consumer.ts", `export const consumer = 1;\n`);
      write(
        "streams/src/index.ts",
        `import { kit } from "@commerce/kit";\nimport { schema } from "@commerce/schema";\nexport const streams = [kit, schema];\n`,
      );
      write("streams/src/index.test.ts", `import { schema } from "@commerce/schema";\nexport const used = schema;\n`);
      write("kit/package.json", manifest("kit", "src/index.ts", ["schema", "streams"]));
      write(
        "kit/src/index.ts",
        `import { consumer } from "@commerce/streams/src/consumer";\nimport { schema } from "../../schema/events";\nexport const kit = [consumer, schema];\n`,
      );
      for (const name of ["kit", "streams", "schema"]) {
        fs.mkdirSync(path.join(dir, "node_modules", "@commerce"), { recursive: true });
        fs.symlinkSync(path.join(dir, name), path.join(dir, "node_modules", "@commerce", name));
      }

      expect(violations(cruise(dir, ["kit", "streams", "schema"])).sort()).toEqual([
        "dev-workspace-outside-tests: streams/src/index.ts → node_modules/@commerce/schema/events/index.ts",
        "package-cycle: kit/src/index.ts → node_modules/@commerce/streams/src/consumer.ts",
        "package-cycle: schema/events/index.ts → node_modules/@commerce/kit/src/index.ts",
        "package-cycle: streams/src/index.ts → node_modules/@commerce/kit/src/index.ts",
        "package-internals: kit/src/index.ts → node_modules/@commerce/streams/src/consumer.ts",
        "relative-import-into-another-workspace: kit/src/index.ts → schema/events/index.ts",
        "streams-imports-upward: streams/src/index.ts → node_modules/@commerce/kit/src/index.ts",
        "undeclared-workspace: schema/events/index.ts → node_modules/@commerce/kit/src/index.ts",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
