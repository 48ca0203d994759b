import { ApolloServer } from "@apollo/server";
import { buildSchema, parse, validate } from "graphql";
import pino from "pino";
import { createErrorFormatter } from "./errors";
import { literalInputErrors, literalInputPlugin } from "./literal-input";

const schema = buildSchema(`
  enum Status { OPEN CLOSED }
  input Money { amount: Int! currency: String! = "USD" }
  input Item { productId: ID! quantity: Int! }
  input Place { items: [Item!]! price: Money status: Status }
  type Query { ok: Int }
  type Mutation { place(input: Place!, note: String): Int }
`);

const server = new ApolloServer({
  schema,
  formatError: createErrorFormatter(pino({ level: "silent" })),
  plugins: [literalInputPlugin()],
});

beforeAll(() => server.start());
afterAll(() => server.stop());

async function firstError(query: string, variables?: Record<string, unknown>) {
  const response = await server.executeOperation({ query, variables });
  if (response.body.kind !== "single") throw new Error("expected a single result");
  return { status: response.http.status, error: response.body.singleResult.errors?.[0] };
}

describe("a wrong value written in the query", () => {
  it("is BAD_USER_INPUT naming its path, as the same value in a variable is", async () => {
    const cases: [string, string][] = [
      [`{ productId: "p", quantity: 1 }, { productId: "q", quantity: 1.5 }`, "input.items.1.quantity"],
      [`{ productId: "p", quantity: "ten" }`, "input.items.0.quantity"],
      [`{ productId: "p" }`, "input.items.0.quantity"], // a required input field left out: named itself
      [`{ productId: "p", quantity: 1, colour: "red" }`, "input.items.0.colour"], // an unknown input field
    ];
    for (const [items, field] of cases) {
      const { error } = await firstError(`mutation { place(input: { items: [${items}] }) }`);
      expect(error?.extensions).toEqual({ code: "BAD_USER_INPUT", field });
      expect(error?.message.startsWith(`${field}: `)).toBe(true);
    }
    expect((await firstError(`mutation { place(input: { items: [], status: SHUT }) }`)).error?.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.status",
    });
    expect((await firstError(`mutation { place(input: { items: [], price: { amount: 9.99 } }) }`)).error?.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.price.amount",
    });
    expect((await firstError(`mutation { place(input: { items: [] }, note: 7) }`)).error?.extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "note",
    });

    // The same value in a variable, for comparison: graphql-js coerces it, the kit names the field.
    const viaVariable = await firstError(`mutation($input: Place!) { place(input: $input) }`, {
      input: { items: [{ productId: "p", quantity: 1.5 }] },
    });
    expect(viaVariable.error?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.items.0.quantity" });
  });

  it("leaves mistakes in the query's shape as validation errors", async () => {
    expect((await firstError(`{ nope }`)).error?.extensions).toEqual({ code: "GRAPHQL_VALIDATION_FAILED" });
    expect((await firstError(`mutation { place }`)).error?.extensions).toEqual({ code: "GRAPHQL_VALIDATION_FAILED" });
    // A variable of the wrong type used as an argument is the query's fault, not a value's.
    expect((await firstError(`mutation($n: String) { place(input: { items: [] }, note: $n) ok: place(input: $n) }`)).error?.extensions).toEqual({
      code: "GRAPHQL_VALIDATION_FAILED",
    });
  });
});

describe("a wrong value in a variable", () => {
  it("is named after the argument the variable stands for, not the variable's own name", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [`mutation($i: Place!) { place(input: $i) }`, { i: { items: [{ productId: "p", quantity: 1.5 }] } }, "input.items.0.quantity"],
      [`mutation($i: Place!) { place(input: $i) }`, { i: { items: [], price: { amount: "ten" } } }, "input.price.amount"],
      [`mutation($i: Place!) { place(input: $i) }`, {}, "input"], // required and not provided
      [`mutation($i: Place!) { place(input: $i) }`, { i: { items: [{ productId: "p" }] } }, "input.items.0.quantity"], // a required field left out
      // Used inside a literal: the path of the place it fills.
      [
        `mutation($q: Int!) { place(input: { items: [{ productId: "p", quantity: 1 }, { productId: "q", quantity: $q }] }) }`,
        { q: 1.5 },
        "input.items.1.quantity",
      ],
      [`mutation($n: String, $i: Place!) { place(input: $i, note: $n) }`, { n: 7, i: { items: [] } }, "note"],
    ];
    for (const [query, variables, field] of cases) {
      const { error } = await firstError(query, variables);
      expect(error?.extensions).toEqual({ code: "BAD_USER_INPUT", field });
      expect(error?.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it("names a directive's argument too, and looks only in the operation that declares the variable", async () => {
    const { error } = await firstError(`mutation M($b: Boolean!) { place(input: { items: [] }) @include(if: $b) }`, { b: "yes" });
    expect(error?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "if" });
    const two = await server.executeOperation({
      query: `mutation A($x: String) { place(input: { items: [] }, note: $x) } mutation B($x: Place!) { place(input: $x) }`,
      operationName: "B",
      variables: { x: { items: 5 } },
    });
    if (two.body.kind !== "single") throw new Error("expected a single result");
    expect(two.body.singleResult.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.items" }); // not "note", where A uses its $x
    // Through a fragment: only the ones this operation spreads count.
    const spread = await server.executeOperation({
      query: `fragment Other on Mutation { place(input: { items: [] }, note: $x) } fragment Mine on Mutation { place(input: $x) } mutation A($x: String) { ...Other } mutation B($x: Place!) { ...Mine }`,
      operationName: "B",
      variables: { x: { items: 5 } },
    });
    if (spread.body.kind !== "single") throw new Error("expected a single result");
    expect(spread.body.singleResult.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.items" });
  });
});

describe("literalInputErrors (for servers that validate themselves)", () => {
  it("turns the errors that point at a literal into BAD_USER_INPUT and keeps the others", () => {
    const document = parse(`mutation { place(input: { items: [{ productId: "p", quantity: -0.5 }] }) nope }`);
    const errors = literalInputErrors(document, validate(schema, document));
    expect(errors.map((error) => error.extensions)).toEqual([{ code: "BAD_USER_INPUT", field: "input.items.0.quantity" }, {}]);
  });
});
