import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";
import { literalInputField, missingFieldSuffix, variableUsageField } from "./literal-input";
import { currentLogger } from "./logger";

/**
 * The error codes clients can rely on (`extensions.code`). Anything else is
 * masked as INTERNAL_SERVER_ERROR before it leaves a process.
 */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  /** The card processor refused a payment (`extensions.reason`: CARD_DECLINED, INSUFFICIENT_FUNDS). */
  | "PAYMENT_DECLINED"
  /** The gateway refused an operation as too deep, too costly or with too many aliases. */
  | "QUERY_TOO_COMPLEX"
  | "INTERNAL_SERVER_ERROR";

/** Base of every deliberate failure; its message is shown to the client, so it says what to do. */
export abstract class AppError extends GraphQLError {
  abstract readonly code: ErrorCode;
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions });
  }
  override toJSON(): GraphQLFormattedError {
    return { ...super.toJSON(), extensions: { ...this.extensions, code: this.code } };
  }
}

export class BadUserInputError extends AppError {
  readonly code = "BAD_USER_INPUT" as const;
  /** @param field the input path at fault, e.g. `input.items.0.quantity` */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, field ? { field } : {});
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = "UNAUTHENTICATED" as const;
  constructor(message = "Sign in first: send Authorization: Bearer <accessToken>.") {
    super(message);
  }
}

export class ForbiddenError extends AppError {
  readonly code = "FORBIDDEN" as const;
  constructor(message = "You are not allowed to do this.") {
    super(message);
  }
}

export class NotFoundError extends AppError {
  readonly code = "NOT_FOUND" as const;
  /** @param field the argument that named the missing thing (`id`, `input.categoryId`) */
  constructor(
    what: string,
    id: string,
    readonly field?: string,
  ) {
    super(`${what} ${id} was not found.`, field ? { id, field } : { id });
  }
}

export class ConflictError extends AppError {
  readonly code = "CONFLICT" as const;
}

export class PaymentDeclinedError extends AppError {
  readonly code = "PAYMENT_DECLINED" as const;
  /** @param reason why the processor refused, e.g. `INSUFFICIENT_FUNDS` */
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message, { reason });
  }
}

export class RateLimitedError extends AppError {
  readonly code = "RATE_LIMITED" as const;
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests: retry after ${retryAfterSeconds} s.`, { retryAfter: retryAfterSeconds });
  }
}

const PASS_THROUGH_CODES = new Set<string>([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "RATE_LIMITED",
  "PAYMENT_DECLINED",
  "QUERY_TOO_COMPLEX",
  // Produced by graphql-js / Apollo for malformed operations: safe and useful to clients.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
]);

function codeOf(error: unknown): string | undefined {
  if (error instanceof AppError) return error.code;
  if (error instanceof GraphQLError) return error.extensions?.code as string | undefined;
  return undefined;
}

/**
 * Apollo Server's own refusals of a malformed request ("Unsupported persisted query version",
 * "provided sha does not match query") carry a 4xx HTTP status and no code: the client's mistake, not
 * an internal error to mask. Only such request-level errors (no path, nothing wrapped): an error a
 * resolver or a library raised while executing is masked as ever, whatever status it carries.
 */
function requestRefusal(error: unknown): string | undefined {
  if (!(error instanceof GraphQLError) || error.path || error.originalError || error.extensions?.code) return undefined;
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  return status !== undefined && status >= 400 && status < 500 ? "BAD_REQUEST" : undefined;
}

/** type-graphql's argument validation carries class-validator errors; name the first field at fault. */
function validationField(error: unknown): string | undefined {
  const errors = (error as GraphQLError | undefined)?.extensions?.validationErrors as { property: string; children?: unknown[] }[] | undefined;
  if (!errors?.length) return undefined;
  const path: string[] = [];
  let current: { property: string; children?: unknown[] } | undefined = errors[0];
  while (current) {
    path.push(current.property);
    current = current.children?.[0] as typeof current;
  }
  return path.join(".");
}

/**
 * graphql-js names the value it could not coerce only in its message: `Variable "$input" got invalid
 * value 1.5 at "input.items[0].quantity"; …`. The field is that path, in our dotted form
 * (`input.items.0.quantity`), or the variable itself when the whole value is wrong.
 */
export function variableField(message: string): string | undefined {
  const match = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" (?:got invalid value .*? at "([^"]+)"|[^"]*)/.exec(message);
  if (!match) return undefined;
  const path = (match[2] ?? match[1]).replace(/\[(\d+)\]/g, ".$1");
  // A required input field left out: the path is the object's; the field at fault is the one missing.
  return `${path}${missingFieldSuffix(message)}`;
}

/** The field of a variable's refused value, named from the argument it stands for (literal-input.ts). */
function variableInputField(error: unknown, message: string): string | undefined {
  const field = variableField(message);
  return field === undefined ? undefined : variableUsageField(error, field);
}

function validationMessage(error: unknown): string | undefined {
  const errors = (error as GraphQLError | undefined)?.extensions?.validationErrors as
    { constraints?: Record<string, string>; children?: unknown[] }[] | undefined;
  let current = errors?.[0];
  while (current && !current.constraints && current.children?.length) current = current.children[0] as typeof current;
  const messages = current?.constraints ? Object.values(current.constraints) : [];
  return messages[0];
}

/**
 * Apollo `formatError`: deliberate errors keep their message, code and field;
 * everything else is logged in full and reaches the client as a masked
 * INTERNAL_SERVER_ERROR carrying an `errorId` that matches the log line.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const reported = codeOf(original) ?? codeOf(error) ?? requestRefusal(error) ?? (formatted.extensions?.code as string | undefined);
    // A wrong literal value in the document is bad input, like the same value in a variable (literal-input.ts).
    const literalField = reported === "GRAPHQL_VALIDATION_FAILED" ? literalInputField(error) : undefined;
    const code = literalField ? "BAD_USER_INPUT" : reported;
    if (code && PASS_THROUGH_CODES.has(code)) {
      const field =
        literalField ??
        (original as BadUserInputError).field ??
        (formatted.extensions?.field as string | undefined) ??
        validationField(original) ??
        (code === "BAD_USER_INPUT" ? variableInputField(error, formatted.message) : undefined);
      const message = code === "BAD_USER_INPUT" ? (validationMessage(original) ?? formatted.message) : formatted.message;
      const extensions: Record<string, unknown> = { code };
      if (field) extensions.field = field;
      for (const key of ["retryAfter", "id", "reason"]) {
        if (formatted.extensions?.[key] !== undefined) extensions[key] = formatted.extensions[key];
      }
      return {
        message: field && code === "BAD_USER_INPUT" && !message.includes(field) ? `${field}: ${message}` : message,
        locations: formatted.locations,
        path: formatted.path,
        extensions,
      };
    }
    const errorId = randomUUID();
    // The request's logger when there is one, so the line carries the requestId the gateway logged too.
    currentLogger(logger).error({ err: original, errorId, path: formatted.path }, "unhandled error in resolver");
    return {
      message: `Internal server error (reference ${errorId}).`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: "INTERNAL_SERVER_ERROR", errorId },
    };
  };
}
