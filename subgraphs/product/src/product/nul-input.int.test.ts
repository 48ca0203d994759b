/**
 * Postgres refuses a NUL character (U+0000) in text ("invalid message format"): a string argument holding
 * one must be refused as BAD_USER_INPUT naming its path, whatever the argument, not reach the database and
 * come back as a masked INTERNAL_SERVER_ERROR. The check lives in the kit (every subgraph); this runs it
 * through a real subgraph.
 */
import { randomUUID } from "node:crypto";
import { ADMIN, CUSTOMER, STAFF, createProduct, createWarehouse, startProductSubgraph, type ProductTestSubgraph } from "../test-support";

let service: ProductTestSubgraph;

beforeAll(async () => {
  service = await startProductSubgraph();
});
afterAll(() => service?.stop());

const NUL = "\u0000";
const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`;
const PRODUCTS = `query($filter: ProductFilter) { products(filter: $filter) { totalCount } }`;

const productInput = (overrides: Record<string, unknown> = {}) => ({
  sku: `SKU-${randomUUID().slice(0, 8)}`,
  name: "Lamp",
  price: { amount: 1999, currency: "USD" },
  ...overrides,
});

/** The single error of an operation that must be refused as bad input, and that nothing was returned. */
async function refused(query: string, variables: Record<string, unknown>, as = ADMIN) {
  const result = await service.gql(query, variables, as);
  expect(result.errors).toHaveLength(1);
  expect(Object.values(result.data ?? {}).filter((value) => value !== null)).toEqual([]);
  return { ...result.errors![0].extensions, message: result.errors![0].message };
}

describe("a NUL character in an argument is BAD_USER_INPUT naming the field", () => {
  it("in a search filter", async () => {
    const error = await refused(PRODUCTS, { filter: { search: `lamp${NUL}` } }, CUSTOMER);
    expect(error).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.search" });
    expect(error.message).toMatch(/^filter\.search: .*NUL/);
  });

  it("in an item of a nested list of an input", async () => {
    const attributes = [
      { name: "colour", value: "red" },
      { name: "size", value: `X${NUL}L` },
    ];
    expect(await refused(CREATE, { input: productInput({ attributes }) })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.attributes.1.value",
    });
  });

  it("in top-level fields of an input and in scalar arguments", async () => {
    expect(await refused(CREATE, { input: productInput({ name: `La${NUL}mp` }) })).toMatchObject({ field: "input.name" });
    expect(await refused(CREATE, { input: productInput({ description: NUL }) })).toMatchObject({ field: "input.description" });
    expect(await refused(`mutation($n: String!) { createCategory(name: $n) { id } }`, { n: `Gar${NUL}den` })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "name",
    });
    expect(
      await refused(`mutation($n: String!) { createWarehouse(code: "W-${randomUUID().slice(0, 8)}", name: $n) { id } }`, { n: NUL }),
    ).toMatchObject({ field: "name" });
    const product = await createProduct(service);
    const warehouse = await createWarehouse(service);
    const adjust = `mutation($p: ID!, $w: ID!, $r: String!) { adjustStock(productId: $p, warehouseId: $w, delta: 1, reason: $r) { onHand } }`;
    expect(await refused(adjust, { p: product.id, w: warehouse, r: `restock${NUL}` }, STAFF)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "reason",
    });
    // Not a NUL, but refused the same way: a reason is shown to people, where a bidi override disguises it.
    expect(await refused(adjust, { p: product.id, w: warehouse, r: "re\u202Estock" }, STAFF)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "reason",
    });
    expect(await refused(`query($id: ID!) { product(id: $id) { id } }`, { id: `${product.id}${NUL}` }, CUSTOMER)).toMatchObject({ field: "id" });
  });

  it("written as an escape in a string literal of the query text, not a variable", async () => {
    const literal = `mutation { createProduct(input: { sku: "SKU-${randomUUID().slice(0, 8)}", name: "La\\u0000mp", price: { amount: 1, currency: "USD" } }) { id } }`;
    expect(await refused(literal, {})).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    expect(await refused(`{ products(filter: { search: "\\u0000" }) { totalCount } }`, {}, CUSTOMER)).toMatchObject({ field: "filter.search" });
  });

  it("wins over the input's other rules, and leaves other characters alone", async () => {
    expect(await refused(PRODUCTS, { filter: { search: `${"x".repeat(500)}${NUL}` } }, CUSTOMER)).toMatchObject({ field: "filter.search" });
    const product = await createProduct(service, { name: `Café ☕ «Crème» ${randomUUID().slice(0, 4)}`, description: "Line one\n\tline two" });
    expect(product.name).toMatch(/^Café ☕ «Crème» /);
  });
});

describe("catalog text shown to customers refuses bidirectional and control characters", () => {
  it("in product, category and warehouse names, and in descriptions except line breaks and tabs", async () => {
    const disguised = "Lamp\u202Egpj.exe";
    expect(await refused(CREATE, { input: productInput({ name: disguised }) })).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    expect(await refused(CREATE, { input: productInput({ name: "Lamp\nSubject: free" }) })).toMatchObject({ field: "input.name" });
    expect(await refused(CREATE, { input: productInput({ description: `Bright ${disguised}` }) })).toMatchObject({ field: "input.description" });
    const product = await createProduct(service);
    const update = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }`;
    expect(await refused(update, { id: product.id, input: { name: disguised } })).toMatchObject({ field: "input.name" });
    expect(await refused(`mutation($n: String!) { createCategory(name: $n) { id } }`, { n: disguised })).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "name",
    });
    expect(
      await refused(`mutation($n: String!) { createWarehouse(code: "W-${randomUUID().slice(0, 8)}", name: $n) { id } }`, { n: disguised }),
    ).toMatchObject({ code: "BAD_USER_INPUT", field: "name" });
  });
});

describe("a federation reference holding a NUL character", () => {
  it("resolves to null without failing the batch", async () => {
    const product = await createProduct(service);
    const result = await service.gql<{ _entities: ({ id: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id } } }`,
      {
        r: [
          { __typename: "Product", id: `${product.id}${NUL}` },
          { __typename: "Product", id: product.id },
          { __typename: "Product", id: NUL },
        ],
      },
      STAFF,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, { id: product.id }, null]);
  });
});
