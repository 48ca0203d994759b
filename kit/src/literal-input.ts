import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  visit,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type ValueNode,
  type VariableDefinitionNode,
} from "graphql";

/**
 * A bad value written into the query is BAD_USER_INPUT with `extensions.field`, as the same value in a
 * variable is; errors about the query's shape stay validation errors (docs/KIT.md, "Bad literal input").
 */

/** Value nodes of the documents validated by this process that errors pointed at, with their path. */
const literalFields = new WeakMap<ASTNode, string>();

/**
 * Records the path of every literal value `errors` (from validating `document`) point at, for
 * {@link literalInputField}. Apollo Server's `validationDidStart` end hook calls it.
 */
export function recordLiteralInputFields(document: DocumentNode, errors: readonly GraphQLError[]): void {
  const targets = new Set<ASTNode>(errors.map((error) => error.nodes?.[0]).filter((node): node is ASTNode => node !== undefined));
  if (targets.size === 0) return;
  visit(document, {
    Argument(argument) {
      walk(argument.value, [argument.name.value], targets);
      return false; // values below were walked
    },
  });
}

function walk(value: ValueNode, path: string[], targets: Set<ASTNode>): void {
  if (targets.has(value)) literalFields.set(value, path.join("."));
  if (value.kind === Kind.OBJECT) {
    for (const field of value.fields) {
      const fieldPath = [...path, field.name.value];
      // An unknown input field points at its ObjectField node, not its value.
      if (targets.has(field)) literalFields.set(field, fieldPath.join("."));
      walk(field.value, fieldPath, targets);
    }
  } else if (value.kind === Kind.LIST) {
    value.values.forEach((item, index) => walk(item, [...path, String(index)], targets));
  }
}

/** The dotted path of the literal value a validation error points at, if it points at one. */
export function literalInputField(error: unknown): string | undefined {
  const node = (error as GraphQLError | undefined)?.nodes?.[0];
  if (!node || node.kind === Kind.VARIABLE) return undefined;
  const path = literalFields.get(node);
  return path === undefined ? undefined : `${path}${missingFieldSuffix((error as GraphQLError).message)}`;
}

/**
 * `.quantity` for graphql-js's `Field "quantity" (or "Item.quantity") of required type … was not
 * provided.`, else "": a required input field left out is named itself, not the object missing it,
 * whether the object came in a variable or was written into the query.
 */
export function missingFieldSuffix(message: string): string {
  const missing = /Field "(?:[_A-Za-z][_0-9A-Za-z]*\.)?([_A-Za-z][_0-9A-Za-z]*)" of required type "[^"]+" was not provided\.?$/.exec(message);
  return missing ? `.${missing[1]}` : "";
}

/**
 * For callers that validate themselves (the gateway's subscription server): `errors` with those that
 * point at a literal value turned into BAD_USER_INPUT naming its path; the others as they were.
 */
export function literalInputErrors(document: DocumentNode, errors: readonly GraphQLError[]): GraphQLError[] {
  recordLiteralInputFields(document, errors);
  return errors.map((error) => {
    const field = literalInputField(error);
    if (!field) return error;
    return new GraphQLError(`${field}: ${error.message}`, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      extensions: { code: "BAD_USER_INPUT", field },
    });
  });
}

/**
 * A variable's value that cannot be coerced is named by graphql-js after the variable (`Variable "$i"
 * got invalid value 1.5 at "i.items[0].quantity"`), a name the client chose. The field at fault is the
 * argument the variable stands for: `input.items.0.quantity`, as the same value written inline is
 * named. Variable definitions that errors point at, with the path of the argument value where their
 * operation first uses them.
 */
const variableUsages = new WeakMap<ASTNode, string>();

/** Records, for {@link variableUsageField}, where each variable `errors` point at is used in its operation. */
export function recordVariableUsages(document: DocumentNode, errors: readonly GraphQLError[]): void {
  const refused = errors.map((error) => error.nodes?.[0]).filter((node): node is VariableDefinitionNode => node?.kind === Kind.VARIABLE_DEFINITION);
  if (refused.length === 0) return;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  for (const operation of document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
    const own = new Map(refused.filter((node) => operation.variableDefinitions?.includes(node)).map((node) => [node.variable.name.value, node]));
    if (own.size === 0) continue;
    // The operation, then the fragments it spreads (directly or through other fragments), in the
    // order it reaches them: another operation's fragment may use a variable of the same name.
    const reached = new Set<string>();
    const scopes: ASTNode[] = [operation];
    for (let i = 0; i < scopes.length; i += 1) {
      visit(scopes[i]!, {
        Argument(argument) {
          findVariables(argument.value, [argument.name.value], own);
          return false;
        },
        FragmentSpread(spread) {
          const fragment = fragments.get(spread.name.value);
          if (fragment && !reached.has(fragment.name.value)) {
            reached.add(fragment.name.value);
            scopes.push(fragment);
          }
        },
      });
    }
  }
}

function findVariables(value: ValueNode, path: string[], definitions: Map<string, VariableDefinitionNode>): void {
  if (value.kind === Kind.VARIABLE) {
    const definition = definitions.get(value.name.value);
    if (definition && !variableUsages.has(definition)) variableUsages.set(definition, path.join("."));
  } else if (value.kind === Kind.OBJECT) {
    for (const field of value.fields) findVariables(field.value, [...path, field.name.value], definitions);
  } else if (value.kind === Kind.LIST) {
    value.values.forEach((item, index) => findVariables(item, [...path, String(index)], definitions));
  }
}

/**
 * `field`, a dotted path that starts with the name of the variable `error` points at
 * (`i.items.0.quantity`), restated from the argument that variable stands for (`input.items.0.quantity`);
 * `field` unchanged when the variable's use was not recorded (never used, or no document).
 */
export function variableUsageField(error: unknown, field: string): string {
  const node = (error as GraphQLError | undefined)?.nodes?.[0];
  const usage = node ? variableUsages.get(node) : undefined;
  if (!usage) return field;
  const [, ...rest] = field.split(".");
  return [usage, ...rest].join(".");
}

/**
 * Apollo Server plugin: records the literal values validation refused, and where refused variables
 * are used, for the error formatter (`didEncounterErrors` runs before `formatError`).
 */
export function literalInputPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async validationDidStart({ document }) {
          return async (errors) => {
            const refused = errors?.filter((error): error is GraphQLError => error instanceof GraphQLError) ?? [];
            if (refused.length) recordLiteralInputFields(document, refused);
          };
        },
        async didEncounterErrors({ document, errors }) {
          if (document) recordVariableUsages(document, errors);
        },
      };
    },
  };
}
