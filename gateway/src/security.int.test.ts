import WebSocket from "ws";
import type { RunningGateway } from "./server";
import { accessToken, clientIp, memoryLogger, post, useGatewayBench, type HttpResult } from "./testing/harness";

const gatewayLog = memoryLogger();
const ALLOWED_ORIGIN = "https://shop.example";
const suite = useGatewayBench({ CORS_ORIGINS: ALLOWED_ORIGIN }, gatewayLog.logger);

/** Runs `act` and returns how many operations reached the probe subgraph meanwhile. */
async function probeCallsDuring(act: () => Promise<unknown>): Promise<number> {
  const before = suite.bench.probeOperations();
  await act();
  return suite.bench.probeOperations() - before;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WIDGETS = "{ widgets { totalCount } }";

describe("identity", () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("serves a valid token's user", async () => {
    const email = `ada.${Date.now()}@example.com`;
    const registered = await suite.ask({
      query: "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
      variables: { i: { email, password: "correct horse battery", name: "Ada" } },
    });
    const { accessToken: token, user } = registered.body.data!.register as { accessToken: string; user: { id: string } };
    const me = await suite.ask({ query: "{ me { id email } }" }, bearer(token));
    expect(me.body).toEqual({ data: { me: { id: user.id, email } } });
  });

  const forged: [string, () => string][] = [
    [
      "tampered (role raised, signature kept)",
      () => {
        const [head, body, signature] = accessToken({ sub: "u1" }).split(".");
        const claims = { ...JSON.parse(Buffer.from(body, "base64url").toString()), role: "ADMIN" };
        return `${head}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
      },
    ],
    ["expired", () => accessToken({ sub: "u1" }, { ttlSeconds: 60, now: Date.now() - 3_600_000 })],
    ["for another audience", () => accessToken({ sub: "u1" }, { audience: "another-api" })],
    ["from another issuer", () => accessToken({ sub: "u1" }, { issuer: "someone-else" })],
    ["signed with another secret under our key id", () => accessToken({ sub: "u1" }, { keys: "test:an-attacker-secret-0123456789" })],
    ["signed with an unknown key id", () => accessToken({ sub: "u1" }, { keys: "other:test-jwt-secret-0123456789abcdef" })],
    [
      "unsigned (alg none)",
      () => {
        const [, body] = accessToken({ sub: "u1", role: "ADMIN" }).split(".");
        return `${Buffer.from(JSON.stringify({ alg: "none", kid: "test" })).toString("base64url")}.${body}.`;
      },
    ],
  ];

  it.each(forged)("refuses a token %s with 401 UNAUTHENTICATED before any subgraph call", async (_what, token) => {
    let result: HttpResult | undefined;
    const calls = await probeCallsDuring(async () => (result = await suite.ask({ query: WIDGETS }, bearer(token()))));
    expect(calls).toBe(0);
    expect(result!.status).toBe(401);
    expect(result!.body.data).toBeUndefined();
    expect(result!.body.errors?.[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
    expect(result!.body.errors?.[0].message).toMatch(/sign in or refresh/);
  });

  it("refuses an Authorization header that is not a bearer token", async () => {
    const result = await suite.ask({ query: WIDGETS }, { authorization: "Basic YWRtaW46YWRtaW4=" });
    expect(result.status).toBe(401);
    expect(result.body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("query limits", () => {
  const refusedWithoutSubgraphCall = async (body: unknown, message: RegExp) => {
    let result: HttpResult | undefined;
    expect(await probeCallsDuring(async () => (result = await suite.ask(body)))).toBe(0);
    expect(result!.status).toBe(400);
    expect(result!.body.errors).toEqual([{ message: expect.stringMatching(message), extensions: { code: "QUERY_TOO_COMPLEX" } }]);
  };

  it("refuses a query deeper than MAX_QUERY_DEPTH (12), fragments included", async () => {
    const nested = "twin { ".repeat(8) + "id" + " }".repeat(8);
    // widgets, edges, node, 8 × twin, id: 12 levels are fine…
    expect(await probeCallsDuring(() => suite.ask({ query: `{ widgets { edges { node { ${nested} } } } }` }))).toBe(1);
    // …13 through a fragment are not
    await refusedWithoutSubgraphCall(
      { query: `{ widgets { edges { node { ...Deep } } } } fragment Deep on Widget { twin { ${nested} } }` },
      /13 levels deep; at most 12/,
    );
  });

  it("refuses an expensive query, sized by its first argument and variables", async () => {
    const query = "query($n: Int) { widgets(first: $n) { edges { node { parts { parts { parts { id } } } } } } }";
    // 1 + n × (edges 1 + node 1 + 421 for three nested lists of 20): 5 rows are fine, 100 are not
    const small = await suite.ask({ query, variables: { n: 5 } });
    expect(small.status).toBe(200);
    expect(small.body.errors).toBeUndefined();
    await refusedWithoutSubgraphCall({ query, variables: { n: 100 } }, /estimated cost is 42301; at most 20000/);
  });

  it("accepts a full page (first: 100) with a few nested lists, as a client listing orders with their items and history would", async () => {
    const lists = "parts { parts { id } }";
    // 1 + 100 × (edges 1 + node 1 + 21 + twin 22 + twin 23) = 6801: within the default cost
    const query = `{ widgets(first: 100) { edges { node { ${lists} twin { ${lists} twin { ${lists} } } } } } }`;
    const page = await suite.ask({ query });
    expect(page.body.errors).toBeUndefined();
    expect(page.status).toBe(200);
  });

  it("refuses an alias bomb and a duplicated-field flood", async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: widgets { totalCount }`).join(" ");
    await refusedWithoutSubgraphCall({ query: `{ ${aliases} }` }, /31 aliases; at most 30/);
    await refusedWithoutSubgraphCall({ query: `{ widgets { ${"totalCount ".repeat(11)} } }` }, /selected 11 times/);
  });

  it("refuses a document over the parser's token budget before validating it, as QUERY_TOO_COMPLEX", async () => {
    // A well-formed document that is merely too big is no syntax error (graphql-js says "more that 5000 tokens"): the client is told which limit it broke.
    const result = await suite.ask({ query: `{ widgets { ${"totalCount ".repeat(6000)} } }` });
    expect(result.status).toBe(400);
    expect(result.body.errors).toEqual([
      {
        message: "The query has more than 5000 tokens; at most 5000 are allowed. Split it into several requests.",
        extensions: { code: "QUERY_TOO_COMPLEX" },
      },
    ]);
  });

  it('refuses a document too large for graphql-js to validate (its own work budget) as QUERY_TOO_COMPLEX, not a bare "Validation aborted."', async () => {
    let result: HttpResult | undefined;
    expect(await probeCallsDuring(async () => (result = await suite.ask({ query: `{ ${"__typename ".repeat(3000)} }` })))).toBe(0);
    expect(result!.status).toBe(400);
    expect(result!.body.errors).toHaveLength(1);
    expect(result!.body.errors?.[0].extensions).toEqual({ code: "QUERY_TOO_COMPLEX" });
    expect(result!.body.errors?.[0].message).toMatch(/too large to validate/);
  });

  it("counts refusals on /metrics", async () => {
    const metrics = await (await fetch(suite.gateway.url.replace("/graphql", "/metrics"))).text();
    expect(metrics).toMatch(/gateway_refusals_total\{reason="too_complex",rule="depth",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_refusals_total\{reason="too_complex",rule="cost",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_refusals_total\{reason="too_complex",rule="aliases",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_refusals_total\{reason="too_complex",rule="tokens",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_refusals_total\{reason="too_complex",rule="validation",service="gateway"\} [1-9]/);
  });
});

describe("HTTP defences", () => {
  it("answers an oversize body with 413 JSON, not an HTML page", async () => {
    const result = await suite.ask({ query: WIDGETS, variables: { pad: "x".repeat(150 * 1024) } });
    expect(result.status).toBe(413);
    expect(result.headers.get("content-type")).toMatch(/application\/json/);
    expect(result.body.errors).toEqual([{ message: "The request body is larger than 102400 bytes.", extensions: { code: "PAYLOAD_TOO_LARGE" } }]);
  });

  it("answers malformed JSON with 400 JSON", async () => {
    const result = await suite.ask('{"query": "{ widgets', {});
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0].extensions?.code).toBe("BAD_REQUEST");
  });

  it("answers a body nested thousands of levels deep with 400 JSON, not a masked stack overflow", async () => {
    const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const deep = await suite.ask(`{"query": "${WIDGETS}", "variables": {"unused": ${nested(5_000)}}}`);
    expect(deep.status).toBe(400);
    expect(deep.body.errors).toEqual([
      { message: "The request body nests arrays and objects deeper than 64 levels.", extensions: { code: "BAD_REQUEST" } },
    ]);
    const shallow = await suite.ask(`{"query": "${WIDGETS}", "variables": {"unused": ${nested(60)}}}`);
    expect(shallow.status).toBe(200);
    expect(shallow.body.data?.widgets).toBeDefined();
  });

  it("refuses an HTTP batch of operations without running any of them", async () => {
    let result: HttpResult | undefined;
    expect(await probeCallsDuring(async () => (result = await suite.ask([{ query: WIDGETS }, { query: WIDGETS }])))).toBe(0);
    expect(result!.status).toBe(400);
    expect(result!.body.errors?.[0]).toMatchObject({ message: "Operation batching disabled.", extensions: { code: "BAD_REQUEST" } });
  });

  it("refuses requests a browser could send cross-site without a preflight (CSRF)", async () => {
    const get = await fetch(`${suite.gateway.url}?query=${encodeURIComponent(WIDGETS)}`, { headers: { "x-forwarded-for": clientIp() } });
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/Cross-Site Request Forgery/);
    const form = await post(suite.gateway.url, JSON.stringify({ query: WIDGETS }), { "content-type": "text/plain", "x-forwarded-for": clientIp() });
    expect(form.status).toBe(400);
    expect(form.text).toMatch(/Cross-Site Request Forgery/);
    // the same GET with a header only non-simple requests can carry is served
    const preflighted = await fetch(`${suite.gateway.url}?query=${encodeURIComponent(WIDGETS)}`, {
      headers: { "apollo-require-preflight": "1", "x-forwarded-for": clientIp() },
    });
    expect(preflighted.status).toBe(200);
  });

  it("lets an allowed origin in with CORS headers and refuses any other", async () => {
    const preflight = (origin: string) =>
      fetch(suite.gateway.url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    const served = await suite.ask({ query: WIDGETS }, { origin: ALLOWED_ORIGIN });
    expect(served.status).toBe(200);
    expect(served.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    // A browser client may read when to retry and the ids that find its request in our logs.
    expect(served.headers.get("access-control-expose-headers")?.split(/,\s*/)).toEqual(
      expect.arrayContaining(["retry-after", "x-request-id", "x-trace-id"]),
    );
    expect(served.headers.get("x-request-id")).toBeTruthy();

    const refused = await preflight("https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("x-request-id")).toBeTruthy();
    let direct: HttpResult | undefined;
    expect(await probeCallsDuring(async () => (direct = await suite.ask({ query: WIDGETS }, { origin: "https://evil.example" })))).toBe(0);
    expect(direct!.status).toBe(403);
    expect(direct!.body.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });

  it("refuses an Origin naming the gateway's own host unless it is listed (DNS rebinding)", async () => {
    // A rebinding page's origin and Host are both its own name; here both are the gateway's address.
    const own = new URL(suite.gateway.url).origin;
    const sameHost = await suite.ask({ query: WIDGETS }, { origin: own });
    expect(sameHost.status).toBe(403);
    expect(sameHost.body.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const localhost = await suite.ask({ query: WIDGETS }, { origin: own.replace("127.0.0.1", "localhost") });
    expect(localhost.status).toBe(403);
  });

  it("refuses a WebSocket from a foreign Origin and accepts an allowed one", async () => {
    const open = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(suite.gateway.url.replace("http", "ws"), "graphql-transport-ws", { origin });
        socket.once("open", () => {
          socket.close();
          resolve(101);
        });
        socket.once("unexpected-response", (_req, res) => {
          socket.terminate();
          resolve(res.statusCode ?? 0);
        });
        socket.once("error", (error) => reject(error));
      });
    expect(await open("https://evil.example")).toBe(403);
    expect(await open(new URL(suite.gateway.url).origin)).toBe(403);
    expect(await open(ALLOWED_ORIGIN)).toBe(101);
  });
});

describe("errors reaching clients", () => {
  const leaks = /127\.0\.0\.1|ECONNREFUSED|internal\.example|wallets|serviceName|stacktrace|\bat \w+ \(/;

  it("masks a subgraph that is down, with an errorId the gateway logged", async () => {
    const result = await suite.ask({ query: "{ lost }" });
    const error = result.body.errors?.[0];
    expect(error?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(error?.extensions?.errorId).toMatch(UUID);
    expect(Object.keys(error?.extensions ?? {}).sort()).toEqual(["code", "errorId"]);
    expect(result.text).not.toMatch(leaks);
    const logged = gatewayLog.lines().find((line) => line.includes(error?.extensions?.errorId as string));
    expect(logged).toMatch(/ECONNREFUSED/);
  });

  it("keeps a subgraph's own errorId for its internal errors and drops what it was masking", async () => {
    const result = await suite.ask({ query: "{ boom widgets { totalCount } }" });
    expect(result.body.data).toEqual({ boom: null, widgets: { totalCount: 2 } });
    const error = result.body.errors?.[0];
    expect(error).toEqual({
      message: `Internal server error (reference ${error?.extensions?.errorId}).`,
      path: ["boom"],
      extensions: { code: "INTERNAL_SERVER_ERROR", errorId: expect.stringMatching(UUID) },
    });
    expect(result.text).not.toMatch(leaks);
    // the id the client reports finds the subgraph's full log line
    expect(suite.bench.probeLog().find((line) => line.includes(error?.extensions?.errorId as string))).toMatch(/wallets/);
  });

  it("passes a subgraph's deliberate error through with its code and field, without serviceName", async () => {
    const result = await suite.ask({ query: '{ badInput(name: "x1") }' });
    expect(result.body.errors).toEqual([
      { message: 'name: "x1" is not allowed: use letters only.', path: ["badInput"], extensions: { code: "BAD_USER_INPUT", field: "name" } },
    ]);
    const login = await suite.ask({ query: 'mutation { login(email: "nobody@example.com", password: "wrong password") { accessToken } }' });
    expect(login.body.errors?.[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
  });
});

describe("a value a subgraph's scalar refuses", () => {
  it("is BAD_USER_INPUT naming the argument, not a masked internal error", async () => {
    const byVariable = await suite.ask({ query: "query($at: DateTime!) { since(at: $at) }", variables: { at: "yesterday" } });
    expect(byVariable.body.errors).toHaveLength(1);
    expect(byVariable.body.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "at" } });
    expect(byVariable.body.errors?.[0].message).toMatch(/yesterday/);
    expect(byVariable.text).not.toMatch(/127\.0\.0\.1|serviceName|locations/);

    const fine = await suite.ask({ query: "query($at: DateTime!) { since(at: $at) }", variables: { at: "2026-12-07T10:00:00Z" } });
    expect(fine.body).toEqual({ data: { since: "2026-12-07T10:00:00.000Z" } });
  });
});

describe("introspection and Sandbox", () => {
  const introspect = (target: RunningGateway) =>
    post(target.url, { query: "{ __schema { queryType { name } } }" }, { "x-forwarded-for": clientIp() });
  const landing = (target: RunningGateway) => fetch(target.url, { headers: { accept: "text/html" } });
  const production = { NODE_ENV: "production", JWT_KEYS: "test:test-jwt-secret-0123456789abcdef" };

  it("are on outside production by default", async () => {
    expect((await introspect(suite.gateway)).body.data).toEqual({ __schema: { queryType: { name: "Query" } } });
    const page = await landing(suite.gateway);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/sandbox/i);
  });

  it("are off in production by default, and each can be switched on", async () => {
    const closed = await suite.bench.gateway(production);
    const refused = await introspect(closed);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(refused.body.errors?.[0].message).toMatch(/introspection is not allowed/);
    expect(await (await landing(closed)).text()).not.toMatch(/sandbox/i);

    const open = await suite.bench.gateway({ ...production, GRAPHQL_INTROSPECTION: "true", GRAPHQL_SANDBOX: "true" });
    expect((await introspect(open)).body.data).toEqual({ __schema: { queryType: { name: "Query" } } });
    expect(await (await landing(open)).text()).toMatch(/sandbox/i);
  });

  it("can be switched off outside production", async () => {
    const closed = await suite.bench.gateway({ GRAPHQL_INTROSPECTION: "false", GRAPHQL_SANDBOX: "false" });
    expect((await introspect(closed)).body.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(await (await landing(closed)).text()).not.toMatch(/sandbox/i);
  });
});

describe("unresolvable operations", () => {
  it.each([
    ["several operations and no operationName", { query: "query A { widgets { totalCount } } query B { widgets { totalCount } }" }, /operationName/],
    [
      "an operationName no operation has",
      { query: "query A { widgets { totalCount } } query B { widgets { totalCount } }", operationName: "C" },
      /"C"/,
    ],
    ["an operationName that does not match the only operation", { query: "query A { widgets { totalCount } }", operationName: "Z" }, /"Z"/],
  ])("answers %s with 400 OPERATION_RESOLUTION_FAILURE, not an internal error", async (_, body, message) => {
    const calls = await probeCallsDuring(async () => {
      const result = await suite.ask(body);
      expect(result.status).toBe(400);
      expect(result.body.errors?.[0]?.extensions).toEqual({ code: "OPERATION_RESOLUTION_FAILURE" });
      expect(result.body.errors?.[0]?.message).toMatch(message);
    });
    expect(calls).toBe(0);
  });

  it("answers a subscription sent over HTTP with 400 BAD_REQUEST pointing to the WebSocket, not an internal error", async () => {
    const calls = await probeCallsDuring(async () => {
      const result = await suite.ask({ query: "subscription { ticks }" });
      expect(result.status).toBe(400);
      expect(result.body.errors?.[0]?.extensions).toEqual({ code: "BAD_REQUEST" });
      expect(result.body.errors?.[0]?.message).toMatch(/WebSocket/);
    });
    expect(calls).toBe(0);
  });
});
