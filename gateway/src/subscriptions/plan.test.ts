import { buildSchema } from "graphql";
import { BadUserInputError } from "@commerce/kit";
import { planSubscription } from "./plan";

const schema = buildSchema(`
  type Query { order(id: ID!): Order }
  type Order { id: ID! status: String! }
  type Subscription { orderStatusChanged(orderId: ID!): Order! }
`);

describe("planSubscription", () => {
  it.each([
    ["a variable", "subscription($o: ID!) { orderStatusChanged(orderId: $o) { status } }", { o: "a\u0000b" }],
    ["a literal", 'subscription { orderStatusChanged(orderId: "a\\u0000b") { status } }', {}],
  ])("refuses a NUL character in orderId given as %s, naming orderId", (_, source, variables) => {
    const errors = planSubscription(schema, source, variables, null);
    expect(errors).toEqual([expect.any(BadUserInputError)]);
    const [error] = errors as BadUserInputError[];
    expect(error.field).toBe("orderId");
    expect(error.message).toMatch(/^orderId: .*NUL/);
  });
});
