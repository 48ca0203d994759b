/** A minimal GraphQL-over-HTTP client for scripts (seed, benchmarks, drills) that talk to the gateway. */
export class GraphQLClient {
  constructor(
    readonly url: string,
    private token: string | null = null,
  ) {}

  withToken(token: string | null): GraphQLClient {
    return new GraphQLClient(this.url, token);
  }

  /** Runs an operation; returns `{ data, errors }` as the server sent it. */
  async raw<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  }

  /** Runs an operation and throws on any error. */
  async request<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const body = await this.raw<T>(query, variables);
    if (body.errors?.length || !body.data) {
      throw new Error(`GraphQL error: ${body.errors?.map((e) => `${e.message} [${e.extensions?.code}]`).join("; ") ?? "no data"}`);
    }
    return body.data;
  }
}
