import { signIdentityHeaders, type Identity } from "./auth";
import { fetchThroughBreaker } from "./circuit";
import type { SubgraphName } from "./services";
import { traceHeaders } from "./tracing";

export class InternalCallError extends Error {
  override name = "InternalCallError";
}

/**
 * Calls another subgraph directly (service to service), signed like the gateway signs (for that
 * subgraph and this body, once), as the calling service or on behalf of a user, through the
 * subgraph's circuit breaker: while it is open the call fails at once with CircuitOpenError.
 */
export async function internalGraphQL<T>(options: {
  /** The subgraph called, at `url`. */
  service: SubgraphName;
  url: string;
  secret: string;
  as: Identity;
  query: string;
  variables?: Record<string, unknown>;
  timeoutMs?: number;
  /** The request id of the unit of work that makes the call, so both services' log lines share it. */
  requestId?: string;
}): Promise<T> {
  const request = JSON.stringify({ query: options.query, variables: options.variables ?? {} });
  const response = await fetchThroughBreaker(options.service, options.url, {
    method: "POST",
    // The active trace context goes along: the callee's span joins the caller's trace.
    headers: {
      "content-type": "application/json",
      ...signIdentityHeaders(options.as, options.secret, { audience: options.service, body: request }, options.requestId),
      ...traceHeaders(),
    },
    body: request,
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  // A subgraph that is down or restarting may answer 502/503 with no JSON at all: say so, not "Unexpected end of JSON input".
  const body = (await response.json().catch(() => {
    throw new InternalCallError(`${options.url}: HTTP ${response.status}, not a GraphQL response`);
  })) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new InternalCallError(`${options.url}: ${body.errors.map((e) => e.message).join("; ")}`);
  if (!body.data) throw new InternalCallError(`${options.url}: HTTP ${response.status} without data`);
  return body.data;
}
