import { ApolloServer } from "@apollo/server";
import { GraphQLError, buildSchema } from "graphql";
import pino from "pino";
import { createErrorFormatter, variableField } from "./errors";

describe("variableField", () => {
  it("names the value graphql-js could not coerce, in dotted form", () => {
    expect(variableField('Variable "$input" got invalid value 1.5 at "input.items[0].quantity"; Int cannot represent non-integer value: 1.5')).toBe(
      "input.items.0.quantity",
    );
    expect(variableField('Variable "$first" got invalid value "x"; Int cannot represent non-integer value: "x"')).toBe("first");
    expect(variableField('Variable "$id" of required type "ID!" was not provided.')).toBe("id");
    expect(
      variableField('Variable "$x" got invalid value { productId: "p" } at "x.items[0]"; Field "quantity" of required type "Int!" was not provided.'),
    ).toBe("x.items.0.quantity");
  });

  it("says nothing about other messages", () => {
    expect(variableField('Cannot query field "nope" on type "Query".')).toBeUndefined();
  });
});

describe("createErrorFormatter", () => {
  const schema = buildSchema("type Query { ok: Int risky: Int }");
  // A resolver's error that happens to carry a 4xx status is still internal: masked, as any other.
  schema.getQueryType()!.getFields().risky!.resolve = () => {
    throw new GraphQLError("select * from secrets failed", { extensions: { http: { status: 400, headers: new Map() } } });
  };
  const server = new ApolloServer({ schema, formatError: createErrorFormatter(pino({ level: "silent" })) });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("passes Apollo Server's refusals of a malformed persisted query as BAD_REQUEST, not as masked internal errors", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ persistedQuery: { version: 2, sha256Hash: "abc" } }, "Unsupported persisted query version"],
      [{ persistedQuery: { version: 1, sha256Hash: "abc" } }, "provided sha does not match query"],
    ];
    for (const [extensions, message] of cases) {
      const response = await server.executeOperation({ query: "{ ok }", extensions });
      if (response.body.kind !== "single") throw new Error("expected a single result");
      expect(response.http.status).toBe(400);
      expect(response.body.singleResult.errors).toEqual([{ message, extensions: { code: "BAD_REQUEST" } }]);
    }
    const risky = await server.executeOperation({ query: "{ risky }" });
    if (risky.body.kind !== "single") throw new Error("expected a single result");
    expect(risky.body.singleResult.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(risky.body.singleResult.errors?.[0]?.message).not.toMatch(/secrets/);
  });
});
