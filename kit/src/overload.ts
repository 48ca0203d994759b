/**
 * Overload, told apart from failure. A subgraph refuses, unexecuted, a request that queued past its
 * signature's validity ({@link OverloadedError} in auth.ts) with HTTP 503, {@link OVERLOADED_HEADER} and a
 * GraphQL error coded {@link SERVICE_UNAVAILABLE}; the gateway passes that on to the client as retryable
 * (nothing ran, so a retry, even of a mutation, cannot apply it twice), and circuit breakers do not count it as
 * a failure (the service answered: opening the circuit would turn its overload into masked errors for everyone).
 */
export const SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE";

/** Response header of a deliberate overload refusal (any value). */
export const OVERLOADED_HEADER = "x-commerce-overloaded";

/** Seconds a client is asked to wait before retrying (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 1;

/** The GraphQL body of an overload refusal. */
export function overloadedBody(message = "The service is overloaded and did not run this request; retry it in a moment."): {
  errors: { message: string; extensions: { code: string; retryable: true } }[];
} {
  return { errors: [{ message, extensions: { code: SERVICE_UNAVAILABLE, retryable: true } }] };
}

/** Whether a subgraph's answer (status and parsed body) is an overload refusal. */
export function isOverloadedAnswer(response: unknown): boolean {
  const { status, body } = (response ?? {}) as { status?: unknown; body?: { errors?: { extensions?: { code?: unknown } }[] } };
  return status === 503 && Array.isArray(body?.errors) && body.errors.length > 0 && body.errors.every((e) => e?.extensions?.code === SERVICE_UNAVAILABLE);
}
