import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { GraphQLDateTime } from "graphql-scalars";
import { parse, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap, type BuildSchemaOptions } from "type-graphql";
import type { Context } from "./context";
import { validateArgument } from "./validation";

/** Federation directives our subgraphs may use. 2.5 because subgraphs may declare subscriptions. */
const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@override", "@tag"])`;

const gatewayServedPubSub = {
  publish: () => undefined,
  subscribe: (): AsyncIterable<unknown> => {
    throw new Error("Subscriptions are served by the gateway over graphql-ws, not by subgraphs.");
  },
};

/**
 * `__resolveReference` resolvers by entity type name: how this subgraph turns
 * `{ __typename, id }` from the gateway into the object its field resolvers expect.
 */
export type ReferenceResolvers = Record<string, { __resolveReference: (reference: { id: string }, ctx: Context) => unknown }>;

/**
 * type-graphql has no federation support of its own: build its schema without
 * the root-type check, print it with directives, add the Federation 2 `@link`,
 * and rebuild it with `buildSubgraphSchema`, merging reference resolvers in.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, "skipCheck" | "scalarsMap">,
  referenceResolvers: ReferenceResolvers = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    ...options,
    validateFn: options.validateFn ?? validateArgument,
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    // Subscriptions are declared by subgraphs (so they compose into the supergraph) but served by the gateway.
    pubSub: gatewayServedPubSub,
    skipCheck: true,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<Context>;
  for (const [typeName, reference] of Object.entries(referenceResolvers)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...reference } as never;
  }
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`),
    resolvers: resolvers as GraphQLResolverMap<unknown>,
  });
}
