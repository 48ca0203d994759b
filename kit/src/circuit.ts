import { OVERLOADED_HEADER } from "./overload";
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll, type CircuitBreakerPolicy } from "cockatiel";

/**
 * Circuit breakers for calls to other processes (gateway → subgraph, service → service), one per
 * target in this process: after {@link FAILURES_TO_OPEN} failed calls in a row (no answer, or HTTP 5xx
 * other than an overload refusal) the circuit opens and calls fail at once with {@link CircuitOpenError} instead of waiting on a
 * dead peer; after {@link HALF_OPEN_AFTER_MS} one trial call goes through, and its success closes the
 * circuit. States are exported as the `circuit_breaker_state` gauge (metrics.ts).
 */
export const FAILURES_TO_OPEN = 5;
export const HALF_OPEN_AFTER_MS = 2_000;

const breakers = new Map<string, CircuitBreakerPolicy>();

function breakerFor(target: string): CircuitBreakerPolicy {
  let breaker = breakers.get(target);
  if (!breaker) {
    breaker = circuitBreaker(handleAll, { halfOpenAfter: HALF_OPEN_AFTER_MS, breaker: new ConsecutiveBreaker(FAILURES_TO_OPEN) });
    breakers.set(target, breaker);
  }
  return breaker;
}

export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(readonly target: string) {
    super(
      `${target} is unavailable: its circuit breaker is open after ${FAILURES_TO_OPEN} failed calls in a row, so calls fail at once; one is tried again ${HALF_OPEN_AFTER_MS / 1000} s after it opened.`,
    );
  }
}

/** A 5xx answer: counted as a failure by the breaker, handed back to the caller all the same. */
class FailedAnswer extends Error {
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`);
  }
}

/**
 * `fetch` through `target`'s breaker. A network failure or a 5xx answer counts as a failure (the
 * 5xx response is still returned); while the circuit is open it rejects at once with {@link CircuitOpenError}.
 */
export async function fetchThroughBreaker(target: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await breakerFor(target).execute(async () => {
      const response = await fetch(url, init);
      // An overload refusal is an answer, not a failure (overload.ts).
      if (response.status >= 500 && !response.headers.has(OVERLOADED_HEADER)) throw new FailedAnswer(response);
      return response;
    });
  } catch (error) {
    if (error instanceof FailedAnswer) return error.response;
    if (error instanceof BrokenCircuitError) throw new CircuitOpenError(target);
    throw error;
  }
}

const STATE_VALUES: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 1,
};

/** Each target's breaker state: 0 closed, 1 open, 2 half-open (one trial call in flight). */
export function breakerStates(): { target: string; state: number }[] {
  return [...breakers].map(([target, breaker]) => ({ target, state: STATE_VALUES[breaker.state] }));
}
