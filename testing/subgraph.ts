import {
  applyEvent,
  bindHandlers,
  signIdentityHeaders,
  startSubgraph,
  type Identity,
  type RunningSubgraph,
  type SubgraphModule,
  type SubgraphName,
} from "@commerce/kit";
import type { EventEnvelope, ParsedEvent } from "@commerce/schema";
import { loadSubgraphModule } from "@commerce/ops";
import { createTestDatabase, randomStreamPrefix } from "./index";

export const TEST_INTERNAL_SECRET = "test-internal-secret-0123456789";
export const TEST_JWT_KEYS = "test:test-jwt-secret-0123456789abcdef";

export interface TestSubgraph<Settings> extends RunningSubgraph<Settings> {
  /** Calls this subgraph as the gateway would, on behalf of `as` (anonymous when null). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, as?: Identity | null): Promise<GraphQLResult<T>>;
  /**
   * Applies `event` with this subgraph's own handler in one transaction with its outbox, as the stream
   * consumer does (minus Redis); returns the events the handler emitted. Throws when it has no handler.
   */
  deliver(event: ParsedEvent): Promise<EventEnvelope[]>;
  streamPrefix: string;
  databaseUrl: string;
}

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/**
 * Starts one subgraph in this process on a throwaway database and a random
 * stream prefix (real Postgres and Redis from jest's globalSetup).
 */
export async function startTestSubgraph<Settings>(
  module: SubgraphModule<Settings>,
  env: Record<string, string> = {},
): Promise<TestSubgraph<Settings>> {
  const database = await createTestDatabase(module.name);
  const streamPrefix = env.STREAM_PREFIX ?? randomStreamPrefix();
  const running = await startSubgraph(module, {
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: database.url,
    REDIS_URL: process.env.TEST_REDIS_URL,
    STREAM_PREFIX: streamPrefix,
    INTERNAL_SECRET: TEST_INTERNAL_SECRET,
    JWT_KEYS: TEST_JWT_KEYS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
    ...env,
  });
  return {
    ...running,
    streamPrefix,
    databaseUrl: database.url,
    async stop() {
      await running.stop();
      await database.drop();
    },
    async deliver(event) {
      const { runtime } = running;
      const handlers = bindHandlers(module.consumes?.handlers ?? {}, runtime.settings);
      const emitted: EventEnvelope[] = [];
      const handled = await runtime.commit(runtime.orm.em.fork(), (em, emit) =>
        applyEvent(handlers, event.type, event, {
          em,
          emit: (out) => {
            emitted.push(out);
            emit(out);
          },
          logger: runtime.logger.child({ eventId: event.id }),
        }),
      );
      if (!handled) throw new Error(`the ${module.name} subgraph has no handler for ${event.type}`);
      return emitted;
    },
    gql: (query, variables = {}, as = null) =>
      callSubgraph({ url: running.url, subgraph: module.name, secret: TEST_INTERNAL_SECRET, as, query, variables }),
  };
}

/** Calls a subgraph's GraphQL endpoint as the gateway would, on behalf of `as` (anonymous when null). */
export async function callSubgraph<T = Record<string, unknown>>(options: {
  url: string;
  subgraph: string;
  secret: string;
  as: Identity | null;
  query: string;
  variables?: Record<string, unknown>;
}): Promise<GraphQLResult<T>> {
  const body = JSON.stringify({ query: options.query, variables: options.variables ?? {} });
  const response = await fetch(options.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...signIdentityHeaders(options.as, options.secret, { audience: options.subgraph, body }) },
    body,
  });
  return response.json() as Promise<GraphQLResult<T>>;
}

export const asUser = (userId: string, role: "CUSTOMER" | "STAFF" | "ADMIN" = "CUSTOMER", email?: string): Identity => ({
  kind: "user",
  userId,
  role,
  email,
});

/** A service started by name in this process, with its SDL as the gateway would read it. */
export async function startServiceByName(name: SubgraphName, env: Record<string, string> = {}): Promise<TestSubgraph<unknown> & { sdl: string }> {
  const running = await startTestSubgraph(await loadSubgraphModule(name), env);
  const answer = await running.gql<{ _service: { sdl: string } }>("{ _service { sdl } }");
  if (!answer.data?._service.sdl) throw new Error(`${name} returned no SDL: ${JSON.stringify(answer.errors)}`);
  return { ...running, sdl: answer.data._service.sdl };
}
