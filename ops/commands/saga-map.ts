/**
 * Writes `docs/SAGA-MAP.md`: every event type → the services that consume it → the handler file, from
 * the modules' `consumes` (and `projections`). `npm run saga-map` rewrites it; saga-map.test.ts fails on drift.
 */
import "reflect-metadata";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SUBGRAPHS } from "@commerce/kit";
import { loadSubgraphModule, REPO_ROOT } from "../provision";

export const SAGA_MAP_PATH = join(REPO_ROOT, "docs", "SAGA-MAP.md");

/** The file that declares handler `name` (`const name: EventHandler<…>`, the one handler form) in a service. */
function handlerFile(service: string, name: string): string {
  const src = join(REPO_ROOT, "subgraphs", service, "src");
  const files = readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .sort();
  const declares = new RegExp(`\\bconst ${name}: EventHandler<`);
  const file = files.find((f) => declares.test(readFileSync(join(src, f), "utf8")));
  return `subgraphs/${service}/src/${file ?? "module.ts"}`;
}

export async function sagaMap(): Promise<string> {
  const rows: { type: string; service: string; file: string }[] = [];
  for (const service of SUBGRAPHS) {
    const module = await loadSubgraphModule(service);
    const groups = [...(module.consumes ? [{ group: service, ...module.consumes }] : []), ...(module.projections ?? [])];
    for (const { group, handlers } of groups) {
      for (const [type, handler] of Object.entries(handlers)) {
        const label = group === service ? service : `${service} (${group})`;
        rows.push({ type, service: label, file: handler?.name ? handlerFile(service, handler.name) : `subgraphs/${service}/src/module.ts` });
      }
    }
  }
  rows.sort((a, b) => a.type.localeCompare(b.type) || a.service.localeCompare(b.service));
  const lines = rows.map(({ type, service, file }) => `| \`${type}\` | ${service} | [${file.split("/").pop()}](../${file}) |`);
  return [
    "# Saga map",
    "",
    "Generated from the modules' `consumes` by `npm run saga-map` (ops/commands/saga-map.ts); `ops/commands/saga-map.test.ts` fails when it is stale.",
    "",
    "| event | consumed by | handler |",
    "| --- | --- | --- |",
    ...lines,
    "",
  ].join("\n");
}

if (require.main === module) {
  sagaMap()
    .then((map) => {
      writeFileSync(SAGA_MAP_PATH, map);
      console.log(`wrote ${SAGA_MAP_PATH}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
