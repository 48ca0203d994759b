/**
 * A NUL character (U+0000) in any string argument, sent through the gateway as a variable or as an
 * escape in a string literal of the query text, comes back as BAD_USER_INPUT naming the field (the kit
 * refuses it in the subgraph before Postgres sees it), not as a masked INTERNAL_SERVER_ERROR.
 */
import { accessToken, useGatewayBench } from "./testing/harness";

const suite = useGatewayBench();

/** The single error of an operation that must be refused as bad input. */
async function refused(body: unknown, headers: Record<string, string> = {}) {
  const { status, body: result } = await suite.ask(body, headers);
  expect(status).toBe(200);
  expect(result.errors).toHaveLength(1);
  return { ...result.errors![0].extensions, message: result.errors![0].message };
}

const ADMIN = { authorization: `Bearer ${accessToken({ sub: "00000000-0000-4000-8000-000000000001", role: "ADMIN" })}` };
const REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";

describe("a NUL character in an argument, through the gateway", () => {
  it("in a nested input field, as a variable", async () => {
    const error = await refused({
      query: REGISTER,
      variables: { i: { email: `nul.${Date.now()}@example.com`, password: "correct horse battery", name: "A\u0000da" } },
    });
    expect(error).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    expect(error.message).toMatch(/^input\.name: .*NUL/);
  });

  it("in a nested input field, as an escape in a string literal of the query text", async () => {
    const query = `mutation { register(input: { email: "lit.${Date.now()}@example.com", password: "correct horse battery", name: "A\\u0000da" }) { accessToken } }`;
    expect(await refused({ query })).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
  });

  // graphql-js (16) takes any Unicode scalar value inside a string literal, U+0000 included: no parse error to rely on.
  it("raw (not escaped) in a string literal of the query text", async () => {
    const query = '{ userAuditLog(filter: { action: "a\u0000b" }) { totalCount } }';
    expect(query).toContain("\u0000");
    expect(await refused({ query }, ADMIN)).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.action" });
  });

  it("in a scalar argument", async () => {
    const query = 'mutation($e: String!) { login(email: $e, password: "whatever") { accessToken } }';
    expect(await refused({ query, variables: { e: "ada\u0000@example.com" } })).toMatchObject({ code: "BAD_USER_INPUT", field: "email" });
  });

  it("in a search filter, as a variable and as a literal", async () => {
    const byVariable = "query($f: AuditLogFilter) { userAuditLog(filter: $f) { totalCount } }";
    expect(await refused({ query: byVariable, variables: { f: { action: "user.\u0000registered" } } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "filter.action",
    });
    const byLiteral = '{ userAuditLog(filter: { targetId: "\\u0000" }) { totalCount } }';
    expect(await refused({ query: byLiteral }, ADMIN)).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.targetId" });
  });
});
