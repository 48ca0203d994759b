/**
 * A GraphQL client that behaves like a careful production client during an outage: it spreads calls
 * over several gateways, and retries on the next one when a call fails for an infrastructure reason
 * (connection refused, 5xx, INTERNAL_SERVER_ERROR, a subgraph unreachable). Business answers
 * (BAD_USER_INPUT, CONFLICT, …) are returned at once. Retrying a mutation is only safe when it is
 * idempotent: placeOrder carries an idempotencyKey, cancelOrder answers CONFLICT once done.
 */
import { setTimeout as sleep } from "node:timers/promises";

const BUSINESS = new Set(["BAD_USER_INPUT", "FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND", "CONFLICT"]);

/** A GraphQL error the server meant (not an outage): retrying would not change it. */
export class BusinessError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export class FailoverClient {
  private next = 0;
  /** calls that needed at least one retry, and retries in all */
  readonly stats = { retriedCalls: 0, retries: 0 };

  constructor(
    private readonly gatewayUrls: string[],
    private readonly token: string | null = null,
    private readonly timeoutMs = 60_000,
  ) {}

  withToken(token: string): FailoverClient {
    const client = new FailoverClient(this.gatewayUrls, token, this.timeoutMs);
    (client as { stats: FailoverClient["stats"] }).stats = this.stats; // one set of counters per drill
    return client;
  }

  /** Runs `query`, retrying infrastructure failures until `timeoutMs`; throws BusinessError or the last failure. */
  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    let lastFailure = "";
    for (let attempt = 0; ; attempt += 1) {
      if (attempt === 1) this.stats.retriedCalls += 1;
      if (attempt > 0) this.stats.retries += 1;
      const url = this.gatewayUrls[this.next++ % this.gatewayUrls.length];
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await response.text();
        let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] } = {};
        try {
          body = JSON.parse(text);
        } catch {
          lastFailure = `HTTP ${response.status}: ${text.slice(0, 200)}`;
        }
        const errors = body.errors ?? [];
        const business = errors.find((e) => BUSINESS.has(e.extensions?.code ?? ""));
        if (business) throw new BusinessError(business.extensions!.code!, business.message);
        if (!errors.length && body.data) return body.data;
        if (errors.length) lastFailure = errors.map((e) => `${e.extensions?.code}: ${e.message}`).join("; ");
      } catch (error) {
        if (error instanceof BusinessError) throw error;
        lastFailure = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`gave up after ${attempt + 1} attempts: ${lastFailure}`);
      await sleep(Math.min(100 * 2 ** attempt, 1000));
    }
  }
}
