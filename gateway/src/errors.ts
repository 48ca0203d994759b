import { randomUUID } from "node:crypto";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { GraphQLError, Kind, OperationTypeNode, type GraphQLFormattedError } from "graphql";
import { createErrorFormatter, currentLogger, isOverloadedAnswer, overloadedBody, type Logger } from "@commerce/kit";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The gateway's `formatError`: the kit formatter, plus the rules for errors coming back from subgraphs
 * (their errorId kept, transport failures masked, a scalar the subgraph refused passed on as
 * BAD_USER_INPUT): docs/GATEWAY.md "Errors".
 */
export function createGatewayErrorFormatter(logger: Logger, onRefused: (rule: string) => void = () => undefined) {
  const base = createErrorFormatter(logger);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const extensions = formatted.extensions ?? {};
    const tooLarge = oversizeDocument(formatted);
    if (tooLarge) {
      onRefused(tooLarge.rule);
      return { message: tooLarge.message, extensions: { code: "QUERY_TOO_COMPLEX" } };
    }
    const service = extensions.serviceName as string | undefined;
    const masked = (errorId: string): GraphQLFormattedError => ({
      message: `Internal server error (reference ${errorId}).`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: "INTERNAL_SERVER_ERROR", errorId },
    });
    const refused = refusedInput(extensions.response);
    if (refused) return { message: refused.message, path: formatted.path, extensions: { code: "BAD_USER_INPUT", field: refused.field } };
    if (isOverloadedAnswer(extensions.response)) {
      currentLogger(logger).warn({ service, path: formatted.path }, "subgraph overloaded: refused a request unexecuted");
      return { ...overloadedBody().errors[0]!, path: formatted.path };
    }
    if (extensions.response !== undefined) {
      const errorId = randomUUID();
      currentLogger(logger).error({ err: error, errorId, service, response: extensions.response, path: formatted.path }, "subgraph call failed");
      return masked(errorId);
    }
    if (service && extensions.code === "INTERNAL_SERVER_ERROR" && typeof extensions.errorId === "string" && UUID.test(extensions.errorId)) {
      currentLogger(logger).warn({ errorId: extensions.errorId, service, path: formatted.path }, "subgraph reported an internal error");
      return masked(extensions.errorId);
    }
    return base(formatted, error);
  };
}

/** The first error of a subgraph's 400 answer when every error in it is BAD_USER_INPUT naming a client's field. */
function refusedInput(response: unknown): { message: string; field: string } | null {
  const { status, body } = (response ?? {}) as { status?: unknown; body?: { errors?: unknown } };
  const errors = status === 400 && Array.isArray(body?.errors) ? (body.errors as GraphQLFormattedError[]) : [];
  const refused = (error: GraphQLFormattedError) =>
    error?.extensions?.code === "BAD_USER_INPUT" &&
    typeof error.extensions.field === "string" &&
    typeof error.message === "string" &&
    !error.message.includes("$representations");
  if (errors.length === 0 || !errors.every(refused)) return null;
  return { message: errors[0].message, field: errors[0].extensions!.field as string };
}

/**
 * A well-formed document refused only for its size, before the gateway's own limits (query-limits.ts)
 * can see it: over the parser's token budget (`MAX_QUERY_TOKENS`; graphql-js calls that a syntax
 * error) or over graphql-js's own validation work budget (thousands of repeated fields, answered with
 * a bare "Validation aborted."). Both are the client's query being too big, the QUERY_TOO_COMPLEX the
 * depth, cost and alias limits answer, with a message that says what to do. Used over HTTP (the
 * formatter below) and for subscriptions (subscriptions/plan.ts).
 */
export function oversizeDocument(formatted: GraphQLFormattedError): { rule: string; message: string } | null {
  const code = formatted.extensions?.code;
  const tokens = code === "GRAPHQL_PARSE_FAILED" ? /Document contains more tha[nt] (\d+) tokens/.exec(formatted.message) : null;
  if (tokens) {
    return {
      rule: "tokens",
      message: `The query has more than ${tokens[1]} tokens; at most ${tokens[1]} are allowed. Split it into several requests.`,
    };
  }
  if (code === "GRAPHQL_VALIDATION_FAILED" && /^Validation aborted\.$/.test(formatted.message)) {
    return {
      rule: "validation",
      message:
        "The query is too large to validate (too many fields or fragments to compare); select each field once and split it into several requests.",
    };
  }
  return null;
}

/**
 * A document with several operations and no `operationName`, or a name none of them has: Apollo
 * Server leaves the operation unresolved and lets the executor refuse it, and Apollo Gateway's
 * executor throws (INVALID_GRAPHQL) instead of returning errors, which Apollo Server answers as an
 * internal error (500). Refused here instead, as Apollo Server does without a gateway: a 400 with
 * OPERATION_RESOLUTION_FAILURE, before rate limits or subgraphs are involved. A subscription sent over
 * HTTP (the executor throws for it too) is a 400 BAD_REQUEST pointing to the WebSocket.
 */
export function operationResolutionPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION)
            throw new GraphQLError("Subscriptions are served over WebSocket (graphql-ws) at /graphql, not over HTTP.", {
              extensions: { code: "BAD_REQUEST", http: { status: 400 } },
            });
          if (operation) return;
          const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length;
          const message = request.operationName
            ? `Unknown operation named "${request.operationName}".`
            : operations > 1
              ? "Must provide operationName when the document contains several operations."
              : "The document contains no operation.";
          throw new GraphQLError(message, { extensions: { code: "OPERATION_RESOLUTION_FAILURE", http: { status: 400 } } });
        },
      };
    },
  };
}
