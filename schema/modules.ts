import type { SubgraphModule, SubgraphName } from "@commerce/kit";

/** A subgraph's module by service name (package `@commerce/<name>` exports `<name>Subgraph`), loaded on demand. */
export async function loadSubgraphModule(name: SubgraphName): Promise<SubgraphModule<unknown>> {
  const exports = (await import(`@commerce/${name}`)) as Record<string, SubgraphModule<unknown>>;
  const module = exports[`${name}Subgraph`];
  if (!module) throw new Error(`@commerce/${name} must export ${name}Subgraph (its SubgraphModule)`);
  return module;
}
