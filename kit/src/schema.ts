import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { GraphQLDateTime } from "graphql-scalars";
import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
  parse,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLSchema,
} from "graphql";
import { canonicalId } from "./ids";
import { buildSchema, createResolversMap, type BuildSchemaOptions } from "type-graphql";
import type { Context } from "./context";
import { findNulCharacter, validateArgument } from "./validation";

/** Federation directives our subgraphs may use. 2.5 because subgraphs may declare subscriptions. */
const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@override", "@tag"])`;

/**
 * Apollo Server's cache hints, read by its cache-control plugin from the schema (no scope argument: every
 * hint is PUBLIC, and no enum joins the supergraph). A subgraph answers `Cache-Control: max-age=N, public`
 * when every field of the operation allows it; the gateway's catalog cache (gateway/src/catalog-cache.ts)
 * reads that header. A root or object field without a hint is uncacheable (max-age 0).
 */
const CACHE_CONTROL_DIRECTIVE = `directive @cacheControl(maxAge: Int, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`;

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
  const subgraphSchema = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${CACHE_CONTROL_DIRECTIVE}\n${printSchemaWithDirectives(schema)}`),
    resolvers: resolvers as GraphQLResolverMap<unknown>,
  });
  refuseNulRepresentations(subgraphSchema);
  canonicaliseIdArguments(subgraphSchema);
  return subgraphSchema;
}

/** `{ __typename, id }` with its id in canonical form. */
function canonicalReference(representation: unknown): unknown {
  if (representation === null || typeof representation !== "object") return representation;
  const id = (representation as { id?: unknown }).id;
  return typeof id === "string" && canonicalId(id) !== id ? { ...representation, id: canonicalId(id) } : representation;
}

/**
 * UUIDs are case-insensitive (RFC 9562), and Postgres reads `6F9…` as `6f9…`, but a lookup keyed by the
 * string (a DataLoader's map, a comparison with the caller's id) does not: `order(id: "<upper case>")`
 * answered null while `cancelOrder` with the same string found the order and cancelled it. Every
 * argument of type `ID` (at any depth of an input object or list) that is a UUID reaches the
 * resolvers in lower case, the form Postgres returns, so one id names one thing everywhere.
 */
function canonicaliseIdArguments(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const idArgs = field.args.filter((arg) => holdsId(getNullableType(arg.type) as GraphQLInputType, new Set()));
      const resolve = field.resolve;
      if (idArgs.length === 0 || !resolve) continue;
      field.resolve = (source, args, ctx, info) => {
        let canonical = args;
        for (const arg of idArgs) {
          const value = args[arg.name];
          const lowered = lowerIds(value, arg.type);
          if (lowered !== value) canonical = { ...canonical, [arg.name]: lowered };
        }
        return resolve(source, canonical, ctx, info);
      };
    }
  }
}

/** Whether a value of `type` may hold an `ID` somewhere. */
function holdsId(type: GraphQLInputType, seen: Set<string>): boolean {
  const named = getNamedType(type);
  if (named.name === "ID") return true;
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((field) => holdsId(field.type, seen));
}

/** `value` with its UUID `ID`s in lower case; the same object when nothing changed. */
function lowerIds(value: unknown, type: GraphQLInputType): unknown {
  if (value === null || value === undefined) return value;
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return value;
    const items = value.map((item) => lowerIds(item, nullable.ofType as GraphQLInputType));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  if (isInputObjectType(nullable)) {
    if (typeof value !== "object") return value;
    let copy: Record<string, unknown> | null = null;
    for (const field of Object.values(nullable.getFields())) {
      const current = (value as Record<string, unknown>)[field.name];
      const lowered = lowerIds(current, field.type);
      if (lowered !== current) (copy ??= { ...(value as Record<string, unknown>) })[field.name] = lowered;
    }
    return copy ?? value;
  }
  return getNamedType(nullable).name === "ID" && typeof value === "string" ? canonicalId(value) : value;
}

/**
 * `_entities` is Apollo's, not type-graphql's, so its representations skip `validateArgument`. A
 * representation holding a NUL character (U+0000) names no entity (Postgres cannot even be asked
 * about it): it resolves to null, as a malformed id does, instead of reaching `__resolveReference`
 * or a field resolver of a reference-only type and failing the statement.
 */
function refuseNulRepresentations(schema: GraphQLSchema): void {
  const entities = schema.getQueryType()?.getFields()._entities;
  const resolve = entities?.resolve as GraphQLFieldResolver<unknown, unknown, { representations: unknown[] }> | undefined;
  if (!entities || !resolve) return;
  entities.resolve = (source, rawArgs, ctx, info) => {
    // Keys in lower case, as canonicaliseIdArguments gives ID arguments (the gateway sends what subgraphs wrote, already so).
    const args = {
      ...rawArgs,
      representations: Array.isArray(rawArgs.representations) ? rawArgs.representations.map(canonicalReference) : rawArgs.representations,
    };
    const representations: unknown[] = Array.isArray(args.representations) ? args.representations : [];
    const named: boolean[] = representations.map((representation) => findNulCharacter(representation) === null);
    if (named.every(Boolean)) return resolve(source, args, ctx, info);
    const kept = representations.filter((_, index) => named[index]);
    const resolved = kept.length ? (resolve(source, { ...args, representations: kept }, ctx, info) as unknown[] | Promise<unknown[]>) : [];
    return Promise.resolve(resolved).then((results) => {
      let next = 0;
      return named.map((isNamed) => (isNamed ? results[next++] : null));
    });
  };
}
