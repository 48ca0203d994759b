/**
 * Composes the supergraph from the five subgraphs' schemas, in code (rover is
 * not available here), and writes `schema/supergraph.graphql`.
 *
 *   npm run compose            write the file
 *   npm run compose -- --check exit 1 when the committed file is stale
 */
import "reflect-metadata";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeServices } from "@apollo/composition";
import { printSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import { buildFederatedSchema, DEFAULT_PORTS, SUBGRAPHS, type SubgraphName } from "@commerce/kit";
import { loadSubgraphModule, REPO_ROOT } from "../provision";

export const SUPERGRAPH_PATH = join(REPO_ROOT, "schema", "supergraph.graphql");

/** The SDL each subgraph serves, by name. */
export async function subgraphSdls(): Promise<{ name: SubgraphName; sdl: string }[]> {
  const result = [];
  for (const name of SUBGRAPHS) {
    const module = await loadSubgraphModule(name);
    const schema = await buildFederatedSchema({ resolvers: module.resolvers, orphanedTypes: module.orphanedTypes }, module.referenceResolvers);
    result.push({ name, sdl: printSubgraphSchema(schema) });
  }
  return result;
}

export class CompositionError extends Error {
  override name = "CompositionError";
}

/** Composes the supergraph SDL; a failure lists every conflict with the subgraphs involved. */
export async function composeSupergraph(): Promise<string> {
  return composeSdls((await subgraphSdls()).map(({ name, sdl }) => ({ name, sdl, url: `http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql` })));
}

/** Composes subgraph SDLs; throws {@link CompositionError} naming each conflict and its subgraphs. */
export function composeSdls(subgraphs: { name: string; sdl: string; url: string }[]): string {
  const services = subgraphs.map(({ name, sdl, url }) => ({ name, typeDefs: parse(sdl), url }));
  const result = composeServices(services);
  if (result.errors?.length) {
    const lines = result.errors.map((error) => {
      const code = (error.extensions?.code as string | undefined) ?? "COMPOSITION_ERROR";
      return `- [${code}] ${error.message}`;
    });
    throw new CompositionError(`Supergraph composition failed:\n${lines.join("\n")}`);
  }
  return `${(result as { supergraphSdl: string }).supergraphSdl.trimEnd()}\n`;
}

async function main(): Promise<void> {
  const supergraph = await composeSupergraph();
  if (process.argv.includes("--check")) {
    const committed = readFileSync(SUPERGRAPH_PATH, "utf8");
    if (committed !== supergraph) {
      console.error("schema/supergraph.graphql is stale: run `npm run compose` and commit the result.");
      process.exit(1);
    }
    console.log("schema/supergraph.graphql is up to date.");
    return;
  }
  writeFileSync(SUPERGRAPH_PATH, supergraph);
  console.log(`wrote ${SUPERGRAPH_PATH}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof CompositionError ? error.message : error);
    process.exit(1);
  });
}
