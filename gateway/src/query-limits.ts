import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "@commerce/kit";
import type { QueryLimitsConfig } from "./config";

/** What one operation would cost, measured statically on its document. */
export interface OperationMeasure {
  /** Deepest field nesting (`{ me { id } }` is 2), fragments expanded. */
  depth: number;
  /** Estimated resolver work: one per object-typed field, times the list sizes above it. */
  cost: number;
  /** Aliased fields, counting each fragment once per place it is spread. */
  aliases: number;
  /** Most times one response key appears in a single selection set (fragments merged in). */
  duplicates: number;
}

interface Measure {
  depth: number;
  cost: number;
  aliases: number;
  duplicates: number;
}

const ZERO: Measure = { depth: 0, cost: 0, aliases: 0, duplicates: 0 };
/** Pagination arguments whose value is the list size of the field's subtree. */
const SIZE_ARGUMENTS = ["first", "last", "limit"];

/**
 * Measures an operation against the API schema. Linear in the document size:
 * each fragment is measured once and reused wherever it is spread, so a
 * "fragment bomb" cannot make the measurement itself expensive. Introspection
 * (`__schema`, `__type`) is skipped: the gateway answers it locally and
 * graphql-js's MaxIntrospectionDepthRule already bounds it.
 */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  sent: Record<string, unknown> = {},
): OperationMeasure {
  // A variable the client leaves out takes its declared default (`$n: Int = 100`): measure with it.
  const variables: Record<string, unknown> = { ...sent };
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (variables[name] === undefined && definition.defaultValue) variables[name] = valueOf(definition.defaultValue, {});
  }
  const memo = new Map<string, Measure>();
  const keyMemo = new Map<string, Map<string, number>>();

  /** Response keys a fragment's selection set merges into the place it is spread (or inlined), with multiplicity. */
  const keysOf = (set: SelectionSetNode): Map<string, number> => {
    const keys = new Map<string, number>();
    const merge = (more: Map<string, number>) => {
      for (const [key, times] of more) keys.set(key, (keys.get(key) ?? 0) + times);
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) merge(new Map([[selection.alias?.value ?? selection.name.value, 1]]));
      else if (selection.kind === Kind.INLINE_FRAGMENT) merge(keysOf(selection.selectionSet));
      else {
        const fragment = fragments[selection.name.value];
        if (!fragment) continue;
        let known = keyMemo.get(fragment.name.value);
        if (!known) {
          keyMemo.set(fragment.name.value, new Map()); // guards the recursion; cycles are invalid GraphQL anyway
          known = keysOf(fragment.selectionSet);
          keyMemo.set(fragment.name.value, known);
        }
        merge(known);
      }
    }
    return keys;
  };

  const sizeOf = (
    field: GraphQLField<unknown, unknown>,
    args: readonly { name: { value: string }; value: ValueNode }[] | undefined,
  ): number | null => {
    for (const name of SIZE_ARGUMENTS) {
      const definition = field.args.find((arg) => arg.name === name);
      if (!definition) continue;
      const given = args?.find((arg) => arg.name.value === name)?.value;
      const value = given ? valueOf(given, variables) : definition.defaultValue;
      // No page is larger than MAX_PAGE_SIZE: the subgraph refuses a larger `first` itself, with
      // BAD_USER_INPUT naming it (API.md), which a cost refusal here would hide.
      return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.min(value, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    }
    return null;
  };

  const measureSet = (parent: GraphQLCompositeType, set: SelectionSetNode): Measure => {
    let depth = 0;
    let cost = 0;
    let aliases = 0;
    let duplicates = 0;
    const keys = new Map<string, number>();
    const add = (child: Measure) => {
      depth = Math.max(depth, child.depth);
      cost += child.cost;
      aliases += child.aliases;
      duplicates = Math.max(duplicates, child.duplicates);
    };
    const count = (key: string, times = 1) => {
      const seen = (keys.get(key) ?? 0) + times;
      keys.set(key, seen);
      duplicates = Math.max(duplicates, seen);
    };

    for (const selection of set.selections) {
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          count(selection.alias?.value ?? name);
          if (selection.alias) aliases += 1;
          if (name === "__schema" || name === "__type") continue;
          const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
          if (!field || !selection.selectionSet) {
            depth = Math.max(depth, 1); // a leaf: scalars come with their parent object, so no cost
            continue;
          }
          const type = getNamedType(field.type);
          if (!isCompositeType(type)) continue;
          const child = measureSet(type, selection.selectionSet);
          const size = sizeOf(field, selection.arguments);
          // A connection's `first` already sized its edges/nodes lists: count those once.
          const insideConnection = parent.name.endsWith("Connection");
          const multiplier = size ?? (isListType(getNullableType(field.type)) && !insideConnection ? DEFAULT_PAGE_SIZE : 1);
          add({ depth: child.depth + 1, cost: 1 + multiplier * child.cost, aliases: child.aliases, duplicates: child.duplicates });
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (!condition || !isCompositeType(condition)) continue;
          const inner = measureSet(condition, selection.selectionSet);
          add(inner);
          for (const [key, times] of keysOf(selection.selectionSet)) count(key, times);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const fragment = fragments[selection.name.value];
          if (!fragment) continue;
          let inner = memo.get(fragment.name.value);
          if (!inner) {
            memo.set(fragment.name.value, ZERO); // cycles are invalid GraphQL; this only guards the recursion
            const condition = schema.getType(fragment.typeCondition.name.value);
            inner = condition && isCompositeType(condition) ? measureSet(condition, fragment.selectionSet) : ZERO;
            memo.set(fragment.name.value, inner);
          }
          add(inner);
          for (const [key, times] of keysOf(fragment.selectionSet)) count(key, times);
          break;
        }
      }
    }
    return { depth, cost, aliases, duplicates };
  };

  const root = schema.getRootType(operation.operation);
  if (!root) return { ...ZERO };
  return measureSet(root, operation.selectionSet);
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  return undefined;
}

/** The first limit an operation breaks, as a client-facing message; null when it is within all of them. */
export function checkLimits(measure: OperationMeasure, limits: QueryLimitsConfig): { rule: keyof OperationMeasure; message: string } | null {
  if (measure.depth > limits.maxDepth) {
    return {
      rule: "depth",
      message: `The query is ${measure.depth} levels deep; at most ${limits.maxDepth} are allowed. Ask for fewer nested levels.`,
    };
  }
  if (measure.aliases > limits.maxAliases) {
    return {
      rule: "aliases",
      message: `The query uses ${measure.aliases} aliases; at most ${limits.maxAliases} are allowed. Split it into several requests.`,
    };
  }
  if (measure.duplicates > limits.maxDuplicateFields) {
    return {
      rule: "duplicates",
      message: `One field is selected ${measure.duplicates} times in the same place; at most ${limits.maxDuplicateFields} are allowed.`,
    };
  }
  if (measure.cost > limits.maxCost) {
    return {
      rule: "cost",
      message: `The query's estimated cost is ${measure.cost}; at most ${limits.maxCost} is allowed. Ask for smaller pages (first) or fewer nested lists.`,
    };
  }
  return null;
}

/**
 * Refuses an operation that is too deep, too expensive, or has too many
 * aliases or duplicated fields, with `QUERY_TOO_COMPLEX` (HTTP 400), before
 * the gateway plans it or calls any subgraph. It runs in `didResolveOperation`
 * rather than as a validation rule because the cost depends on variables
 * (`first: $n`), which validation does not see.
 */
export function queryLimitsPlugin<Context extends BaseContext>(
  limits: QueryLimitsConfig,
  onRefused: (rule: string) => void,
): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request }) {
          if (!operation) return; // refused by operationResolutionPlugin (errors.ts)
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          }
          const broken = checkLimits(measureOperation(schema, operation, fragments, request.variables ?? {}), limits);
          if (!broken) return;
          onRefused(broken.rule);
          throw new GraphQLError(broken.message, { extensions: { code: "QUERY_TOO_COMPLEX", http: { status: 400 } } });
        },
      };
    },
  };
}
