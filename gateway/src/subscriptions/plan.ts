import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  print,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { assertNoNulCharacters, BadUserInputError, canonicalId, literalInputErrors } from "@commerce/kit";
import type { QueryLimitsConfig } from "../config";
import { oversizeDocument } from "../errors";
import { checkLimits, measureOperation } from "../query-limits";

/** Subscription fields the gateway serves itself: the order ones are re-resolved as `Query.order`, `myNotifications` from its event. */
export type SubscriptionField = "orderStatusChanged" | "myOrderUpdates" | "myNotifications" | "salesMetrics";

/** Hidden fields the gateway adds to the client's selection to order and de-duplicate events. */
export const HIDDEN_STATUS = "__gwStatus";
export const HIDDEN_HISTORY = "__gwHistory";
export const ORDER_ID_VARIABLE = "__gwOrderId";

/**
 * How one subscription is served: the client's selection turned into a query of
 * `order(id)`, executed through the supergraph for every status change, so any
 * federated field of `Order` can be selected.
 */
export interface SubscriptionPlan {
  field: SubscriptionField;
  /** The response key the client expects (its alias, or the field name). */
  responseKey: string;
  /** The order to watch (orderStatusChanged only). */
  orderId: string | null;
  /** The client's document, parsed and validated. */
  document: DocumentNode;
  query: string;
  variables: Record<string, unknown>;
  /** The query and its variables as one string: plans with equal keys resolve a change alike (in one scope). */
  key: string;
  /** Response keys of top-level `status` selections, patched to the event's status. */
  statusKeys: string[];
  /** Response keys of top-level `statusHistory` selections, cut after the event's change. */
  historyKeys: string[];
  /** Response keys of top-level `failureReason` selections: null in a message of a status that is no failure. */
  failureReasonKeys: string[];
}

export class PlanError extends Error {}

/**
 * Parses and validates a subscription request against the gateway's schema, then plans it. With
 * `limits`, the document must keep to the same size, depth, cost and alias limits as an HTTP
 * operation (QUERY_TOO_COMPLEX otherwise): each status change executes its selection again.
 */
export function planSubscription(
  schema: GraphQLSchema,
  source: string,
  variables: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  limits?: QueryLimitsConfig,
  onTooComplex: (rule: string) => void = () => undefined,
): SubscriptionPlan | readonly GraphQLError[] {
  const checked = validated(schema, source, limits?.maxTokens, onTooComplex);
  if (!("kind" in checked)) return checked;
  const document = checked;
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((op) => op.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return [new BadUserInputError("Name the operation to run (operationName).", "operationName")];
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
    return [new BadUserInputError("Queries and mutations go over HTTP POST to /graphql; this socket serves subscriptions.")];
  }
  const roots = operation.selectionSet.selections;
  if (roots.length !== 1 || roots[0].kind !== Kind.FIELD) {
    return [new BadUserInputError("Subscribe to exactly one field per operation.")];
  }
  const root = roots[0];
  const field = root.name.value as SubscriptionField;
  if (field !== "orderStatusChanged" && field !== "myOrderUpdates" && field !== "myNotifications" && field !== "salesMetrics") {
    return [new BadUserInputError(`Unknown subscription field ${root.name.value}.`)];
  }
  const vars = { ...(variables ?? {}) };
  let orderIdArgument;
  let orderId: string | null = null;
  if (field === "orderStatusChanged") {
    const argument = root.arguments?.find((arg) => arg.name.value === "orderId");
    if (!argument) return [new BadUserInputError("orderId is required.", "orderId")];
    const value =
      argument.value.kind === Kind.VARIABLE
        ? vars[argument.value.name.value]
        : argument.value.kind === Kind.STRING
          ? argument.value.value
          : undefined;
    if (typeof value !== "string" || !value) return [new BadUserInputError("orderId must be a non-empty ID.", "orderId")];
    try {
      assertNoNulCharacters({ orderId: value });
    } catch (error) {
      return [error as BadUserInputError];
    }
    // The feed keys orders by id as Postgres writes it (lower case); a UUID is the same in any case.
    orderId = canonicalId(value);
    orderIdArgument = argument.value;
  }
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  if (limits) {
    const broken = checkLimits(measureOperation(schema, operation, Object.fromEntries(fragments.map((f) => [f.name.value, f])), vars), limits);
    if (broken) {
      onTooComplex(broken.rule);
      return [tooComplex(broken.message)];
    }
  }
  const responseKey = root.alias?.value ?? root.name.value;
  if (field === "myNotifications" || field === "salesMetrics") {
    // A Notification's fields are in its event; a SalesMinute is summed from `salesReport` by the gateway.
    return { field, responseKey, orderId, document, query: "", variables: vars, key: "", statusKeys: [], historyKeys: [], failureReasonKeys: [] };
  }
  const selectionSet = withHiddenFields(root.selectionSet);
  const orderField: FieldNode = {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: root.alias?.value ?? root.name.value },
    name: { kind: Kind.NAME, value: "order" },
    arguments: [
      {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: "id" },
        value: orderIdArgument ?? { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ORDER_ID_VARIABLE } },
      },
    ],
    directives: root.directives,
    selectionSet,
  };
  const variableDefinitions = [...(operation.variableDefinitions ?? [])];
  if (field === "myOrderUpdates") {
    variableDefinitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ORDER_ID_VARIABLE } },
      type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: "ID" } } },
    });
  }
  const query: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      { ...operation, operation: OperationTypeNode.QUERY, variableDefinitions, selectionSet: { kind: Kind.SELECTION_SET, selections: [orderField] } },
      ...fragments,
    ],
  };
  const printed = print(query);
  return {
    field,
    responseKey: root.alias?.value ?? root.name.value,
    orderId,
    document,
    query: printed,
    variables: vars,
    key: `${printed}|${JSON.stringify(vars)}`,
    statusKeys: responseKeys(root.selectionSet, fragments, "status"),
    historyKeys: responseKeys(root.selectionSet, fragments, "statusHistory"),
    failureReasonKeys: responseKeys(root.selectionSet, fragments, "failureReason"),
  };
}

/** Valid documents by schema and source: thousands of clients send the same few subscriptions. */
const documents = new WeakMap<GraphQLSchema, Map<string, DocumentNode>>();
const MAX_CACHED_DOCUMENTS = 1000;

function validated(
  schema: GraphQLSchema,
  source: string,
  maxTokens: number | undefined,
  onTooComplex: (rule: string) => void,
): DocumentNode | readonly GraphQLError[] {
  let cache = documents.get(schema);
  const cached = cache?.get(source);
  if (cached) return cached;
  let document: DocumentNode;
  try {
    document = parse(source, maxTokens ? { maxTokens } : undefined);
  } catch (error) {
    return [refusal(withCode(error as GraphQLError, "GRAPHQL_PARSE_FAILED"), onTooComplex)];
  }
  const errors = validate(schema, document);
  if (errors.length) {
    return literalInputErrors(document, errors).map((error) =>
      refusal(error.extensions.code ? error : withCode(error, "GRAPHQL_VALIDATION_FAILED"), onTooComplex),
    );
  }
  if (!cache) documents.set(schema, (cache = new Map()));
  if (cache.size >= MAX_CACHED_DOCUMENTS) cache.clear();
  cache.set(source, document);
  return document;
}

/** A document refused only for its size (token or validation budget) is QUERY_TOO_COMPLEX, as over HTTP. */
function refusal(error: GraphQLError, onTooComplex: (rule: string) => void): GraphQLError {
  const tooLarge = oversizeDocument({ message: error.message, extensions: error.extensions });
  if (!tooLarge) return error;
  onTooComplex(tooLarge.rule);
  return tooComplex(tooLarge.message);
}

/** The refusal an HTTP operation over the same limits gets (query-limits.ts). */
function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "QUERY_TOO_COMPLEX" } });
}

/** graphql-js leaves the code out; over HTTP Apollo Server adds it, and so do we over the socket. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}

function withHiddenFields(selectionSet: SelectionSetNode | undefined): SelectionSetNode {
  const hidden = (alias: string, name: string, sub?: string[]): FieldNode => ({
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: alias },
    name: { kind: Kind.NAME, value: name },
    selectionSet: sub
      ? { kind: Kind.SELECTION_SET, selections: sub.map((s) => ({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: s } }) as FieldNode) }
      : undefined,
  });
  return {
    kind: Kind.SELECTION_SET,
    selections: [...(selectionSet?.selections ?? []), hidden(HIDDEN_STATUS, "status"), hidden(HIDDEN_HISTORY, "statusHistory", ["status", "at"])],
  };
}

/** Response keys under which the client selected `field` at the top level of the order. */
function responseKeys(
  selectionSet: SelectionSetNode | undefined,
  fragments: FragmentDefinitionNode[],
  field: string,
  seen = new Set<string>(),
): string[] {
  const keys: string[] = [];
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD && selection.name.value === field) keys.push(selection.alias?.value ?? field);
    if (selection.kind === Kind.INLINE_FRAGMENT) keys.push(...responseKeys(selection.selectionSet, fragments, field, seen));
    if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.find((f) => f.name.value === selection.name.value);
      keys.push(...responseKeys(fragment?.selectionSet, fragments, field, seen));
    }
  }
  return keys;
}
