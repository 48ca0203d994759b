import { buildSchema, getIntrospectionQuery, Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { checkLimits, measureOperation } from "./query-limits";
import { rootFields, signInAttempts } from "./rate-limit";

const schema = buildSchema(`
  type Query { me: User users(first: Int): UserConnection! user(id: ID!): User search: [Result!]! }
  type Mutation { login(email: String!): String register(email: String!): String }
  type User { id: ID! name: String friends: [User!]! posts(first: Int = 10): PostConnection! }
  type Post { id: ID! title: String author: User }
  type UserConnection { edges: [UserEdge!]! nodes: [User!]! totalCount: Int! }
  type UserEdge { cursor: String! node: User! }
  type PostConnection { edges: [PostEdge!]! }
  type PostEdge { node: Post! }
  union Result = User | Post
`);

function measure(query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return measureOperation(schema, operation, fragments, variables);
}

const limits = { maxDepth: 5, maxCost: 1000, maxAliases: 3, maxDuplicateFields: 3, maxTokens: 1000 };

describe("measureOperation", () => {
  it("counts depth through nested fields, inline fragments and fragment spreads", () => {
    expect(measure("{ me { id } }").depth).toBe(2);
    expect(measure("{ me { friends { friends { name } } } }").depth).toBe(4);
    expect(measure("{ me { ...F } } fragment F on User { friends { ... on User { friends { id } } } }").depth).toBe(4);
  });

  it("multiplies a subtree by its first argument (literal, variable or schema default) and lists by 20", () => {
    // users 1 + 50 × (edges 1 + node 1 + friends 1): scalars are free, edges count once inside a connection
    expect(measure("{ users(first: 50) { edges { node { name friends { id } } } } }").cost).toBe(1 + 50 * 3);
    expect(measure("query Q($n: Int) { users(first: $n) { nodes { id } } }", { n: 100 }).cost).toBe(1 + 100 * 1);
    // a variable left out takes its declared default, not the page-size default
    expect(measure("query Q($n: Int = 100) { users(first: $n) { nodes { id } } }").cost).toBe(1 + 100 * 1);
    expect(measure("query Q($n: Int = 100) { users(first: $n) { nodes { id } } }", { n: 5 }).cost).toBe(1 + 5 * 1);
    // a page is never more than 100: a larger first is the subgraph's BAD_USER_INPUT, not a cost refusal
    expect(measure("query Q($n: Int) { users(first: $n) { nodes { id } } }", { n: 2 ** 31 - 1 }).cost).toBe(1 + 100 * 1);
    // no first given: the page-size default (20); posts' own schema default is 10
    expect(measure("{ users { nodes { id } } }").cost).toBe(1 + 20);
    expect(measure("{ me { posts { edges { node { author { id } } } } } }").cost).toBe(1 + (1 + 10 * (1 + 1 + 1)));
    // a plain list without pagination: 20 per level, so nesting lists grows fast
    expect(measure("{ me { friends { friends { friends { id } } } } }").cost).toBe(1 + (1 + 20 * (1 + 20 * 1)));
  });

  it("counts aliases, once per place a fragment is spread", () => {
    expect(measure("{ a: me { id } b: me { id } }").aliases).toBe(2);
    expect(measure("{ me { ...F } user(id: 1) { ...F } } fragment F on User { x: id y: name }").aliases).toBe(4);
  });

  it("finds the most repeated response key in one selection set, fragments merged in", () => {
    expect(measure("{ me { id id id name } }").duplicates).toBe(3);
    expect(measure("{ me { id ...F ... on User { id } } } fragment F on User { id }").duplicates).toBe(3);
    expect(measure("{ me { id } user(id: 1) { id } }").duplicates).toBe(1);
  });

  it("measures a fragment bomb without expanding it, and reports its exponential cost", () => {
    // F0 spreads F1 twice, F1 spreads F2 twice…: as fields, 2^200 selections. Only a measure that visits each
    // fragment once returns at all (an expanding one never ends); no wall-clock bound is needed.
    const levels = 200;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1
        ? `fragment F${i} on User { friends { id } }`
        : `fragment F${i} on User { friends { ...F${i + 1} } me: friends { ...F${i + 1} } }`,
    ).join("\n");
    const result = measure(`{ me { ...F0 } } ${fragments}`);
    expect(result.cost).toBeGreaterThan(1e60);
    expect(result.aliases).toBeGreaterThan(1e30);
  });

  it("leaves introspection to graphql-js's own depth rule", () => {
    const result = measure(getIntrospectionQuery());
    expect(result.depth).toBeLessThanOrEqual(1);
    expect(result.cost).toBe(0);
  });

  it("measures union members through inline fragments", () => {
    expect(measure("{ search { ... on Post { author { friends { id } } } } }").cost).toBe(1 + 20 * (1 + (1 + 20 * 0)));
  });
});

describe("checkLimits", () => {
  it("names the broken limit and the numbers in a message that says what to do", () => {
    expect(checkLimits({ depth: 6, cost: 1, aliases: 0, duplicates: 1 }, limits)).toEqual({
      rule: "depth",
      message: "The query is 6 levels deep; at most 5 are allowed. Ask for fewer nested levels.",
    });
    expect(checkLimits({ depth: 1, cost: 1001, aliases: 0, duplicates: 1 }, limits)?.rule).toBe("cost");
    expect(checkLimits({ depth: 1, cost: 1, aliases: 4, duplicates: 1 }, limits)?.rule).toBe("aliases");
    expect(checkLimits({ depth: 1, cost: 1, aliases: 0, duplicates: 4 }, limits)?.rule).toBe("duplicates");
  });

  it("accepts an operation exactly at every limit", () => {
    expect(checkLimits({ depth: 5, cost: 1000, aliases: 3, duplicates: 3 }, limits)).toBeNull();
  });
});

describe("rootFields", () => {
  it("sees login attempts hidden behind aliases and fragments", () => {
    const document = parse(
      `mutation { a: login(email: "x") ...M ... on Mutation { register(email: "y") } } fragment M on Mutation { b: login(email: "z") }`,
    );
    const operation = document.definitions[0] as OperationDefinitionNode;
    expect(rootFields(operation, { M: document.definitions[1] as FragmentDefinitionNode }).map((field) => field.name.value)).toEqual([
      "login",
      "login",
      "register",
    ]);
  });
});

describe("signInAttempts", () => {
  it("names the account each attempt tries, from literals or variables, as login stores it", () => {
    const document = parse(`mutation($e: String!, $i: RegisterInput!) {
      a: login(email: " Ann@Example.com ", password: "x") b: login(email: $e, password: "y") register(input: $i) { id }
      refreshToken(refreshToken: "t") { id } changePassword(currentPassword: "p", newPassword: "q") me { id }
    }`);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const identity = { kind: "user" as const, userId: "u1", role: "CUSTOMER" as const, email: "Me@Example.com" };
    expect(signInAttempts(operation, {}, { e: "bob@example.com", i: { email: "CAT@example.com" } }, identity)).toEqual([
      "ann@example.com",
      "bob@example.com",
      "cat@example.com",
      null,
      "me@example.com",
    ]);
  });
});
