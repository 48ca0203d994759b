import { randomUUID } from "node:crypto";
import {
  CUSTOMER,
  STAFF,
  adjustStock,
  createProduct,
  createWarehouse,
  failure,
  ok,
  startProductSubgraph,
  type ProductTestSubgraph,
} from "../test-support";

let service: ProductTestSubgraph;
let warehouse: string;
/** A word unique to this run, so search results are ours only. */
const tag = `zq${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  service = await startProductSubgraph();
  warehouse = await createWarehouse(service);
});
afterAll(() => service?.stop());

const PRODUCTS = `query($filter: ProductFilter, $first: Int, $after: String) {
  products(filter: $filter, first: $first, after: $after) { totalCount edges { cursor node { id name sku } } pageInfo { hasNextPage endCursor } }
}`;

describe("products: search, filters, pagination", () => {
  it("searches name, description and SKU, case-insensitively, with wildcards taken literally", async () => {
    const byName = await createProduct(service, { name: `Red ${tag} lamp` });
    const byDescription = await createProduct(service, { name: "Chair", description: `matches ${tag.toUpperCase()} too` });
    const bySku = await createProduct(service, { sku: `${tag}-SKU` });
    await createProduct(service, { name: "Unrelated" });
    const { products } = await ok(service, PRODUCTS, { filter: { search: tag } }, CUSTOMER);
    expect(products.totalCount).toBe(3);
    expect(products.edges.map((edge: { node: { id: string } }) => edge.node.id).sort()).toEqual([byName.id, byDescription.id, bySku.id].sort());
    expect((await ok(service, PRODUCTS, { filter: { search: `${tag}%` } }, CUSTOMER)).products.totalCount).toBe(0);
  });

  it("matches every word of a search, in any order, anywhere in the product", async () => {
    const word = `zw${randomUUID().slice(0, 6)}`;
    const kettle = await createProduct(service, { name: `Copper ${word} Kettle`, description: "for stovetops" });
    await createProduct(service, { name: `Steel ${word} Kettle` });
    const found = async (search: string) =>
      (await ok(service, PRODUCTS, { filter: { search } }, CUSTOMER)).products.edges.map((edge: { node: { id: string } }) => edge.node.id);
    expect(await found(`kettle ${word} COPPER`)).toEqual([kettle.id]);
    expect(await found(`  ${word}   stovetops `)).toEqual([kettle.id]); // a word of the name and one of the description
    expect(await found(`${word} kettle`)).toHaveLength(2);
    expect(await found(`${word} brass`)).toEqual([]);
  });

  it("filters by category (with sub-categories) and by stock", async () => {
    const { createCategory: root } = await ok(service, `mutation { createCategory(name: "Garden") { id } }`);
    const { createCategory: sub } = await ok(service, `mutation($p: ID) { createCategory(name: "Hoses", parentId: $p) { id } }`, { p: root.id });
    const inRoot = await createProduct(service, { categoryId: root.id });
    const inSub = await createProduct(service, { categoryId: sub.id });
    await adjustStock(service, inSub.id, warehouse, 2);
    const ids = (data: any) => data.products.edges.map((edge: { node: { id: string } }) => edge.node.id).sort();
    expect(ids(await ok(service, PRODUCTS, { filter: { categoryId: root.id } }, CUSTOMER))).toEqual([inRoot.id, inSub.id].sort());
    expect(ids(await ok(service, PRODUCTS, { filter: { categoryId: sub.id } }, CUSTOMER))).toEqual([inSub.id]);
    expect(ids(await ok(service, PRODUCTS, { filter: { categoryId: root.id, inStock: true } }, CUSTOMER))).toEqual([inSub.id]);
    expect(ids(await ok(service, PRODUCTS, { filter: { categoryId: root.id, inStock: false } }, CUSTOMER))).toEqual([inRoot.id]);
  });

  it("pages by name with cursors, without gaps or repeats", async () => {
    const page = `pg${randomUUID().slice(0, 6)}`;
    const created = [];
    for (const letter of ["e", "a", "d", "b", "c"]) created.push(await createProduct(service, { name: `${page} ${letter}` }));
    const seen: string[] = [];
    let after: string | null = null;
    for (let round = 0; round < 3; round++) {
      const data: any = await ok(service, PRODUCTS, { filter: { search: page }, first: 2, after }, CUSTOMER);
      expect(data.products.totalCount).toBe(5);
      seen.push(...data.products.edges.map((edge: { node: { name: string } }) => edge.node.name));
      after = data.products.pageInfo.endCursor;
      expect(data.products.pageInfo.hasNextPage).toBe(round < 2);
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"].map((letter) => `${page} ${letter}`));
  });

  it("sorts by price either way and by newest, paging each sort without gaps or repeats", async () => {
    const word = `so${randomUUID().slice(0, 6)}`;
    const prices = [500, 100, 300, 100, 900];
    const created = [];
    for (const [i, amount] of prices.entries()) {
      created.push(await createProduct(service, { name: `${word} ${"edcba"[i]}`, price: { amount, currency: "USD" } }));
    }
    const SORTED = `query($filter: ProductFilter, $sort: ProductSort, $first: Int, $after: String) {
      products(filter: $filter, sort: $sort, first: $first, after: $after) { edges { node { id price { amount } } } pageInfo { endCursor hasNextPage } }
    }`;
    const all = async (sort: string) => {
      const seen: { id: string; amount: number }[] = [];
      let after: string | null = null;
      do {
        const data: any = await ok(service, SORTED, { filter: { search: word }, sort, first: 2, after }, CUSTOMER);
        seen.push(...data.products.edges.map((e: any) => ({ id: e.node.id, amount: e.node.price.amount })));
        after = data.products.pageInfo.hasNextPage ? data.products.pageInfo.endCursor : null;
      } while (after);
      return seen;
    };
    const ascending = await all("PRICE_ASC");
    expect(ascending.map((p) => p.amount)).toEqual([100, 100, 300, 500, 900]);
    expect(new Set(ascending.map((p) => p.id)).size).toBe(5);
    expect((await all("PRICE_DESC")).map((p) => p.amount)).toEqual([900, 500, 300, 100, 100]);
    expect((await all("NEWEST")).map((p) => p.id)).toEqual(created.map((p) => p.id).reverse());
    // A cursor of one sort resumes no other.
    const first: any = await ok(service, SORTED, { filter: { search: word }, sort: "PRICE_ASC", first: 1 }, CUSTOMER);
    const cursor = first.products.pageInfo.endCursor;
    expect(await failure(service, SORTED, { filter: { search: word }, sort: "NAME", after: cursor }, CUSTOMER)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "after",
    });
  });

  it("filters by a price range, bounds included, and refuses a negative bound", async () => {
    const word = `pr${randomUUID().slice(0, 6)}`;
    for (const amount of [99, 100, 250, 400, 401]) await createProduct(service, { name: `${word} ${amount}`, price: { amount, currency: "USD" } });
    const PRICED = `query($filter: ProductFilter) { products(filter: $filter, sort: PRICE_ASC) { totalCount edges { node { price { amount } } } } }`;
    const data: any = await ok(service, PRICED, { filter: { search: word, minPrice: 100, maxPrice: 400 } }, CUSTOMER);
    expect(data.products.totalCount).toBe(3);
    expect(data.products.edges.map((e: any) => e.node.price.amount)).toEqual([100, 250, 400]);
    expect(await failure(service, PRICED, { filter: { search: word, minPrice: 500, maxPrice: 10 } }, CUSTOMER)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "filter.minPrice",
    });
    expect(await failure(service, PRICED, { filter: { search: word, minPrice: -1 } }, CUSTOMER)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "filter.minPrice",
    });
  });

  it("refuses first above 100 and a forged cursor", async () => {
    expect(await failure(service, PRODUCTS, { first: 101 }, CUSTOMER)).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    expect(await failure(service, PRODUCTS, { after: "garbage" }, CUSTOMER)).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    expect(await failure(service, PRODUCTS, { filter: { search: "x".repeat(201) } }, CUSTOMER)).toMatchObject({ code: "BAD_USER_INPUT" });
    expect((await ok(service, PRODUCTS, { first: 100 }, CUSTOMER)).products.edges.length).toBeLessThanOrEqual(100);
  });

  it("names a too-long search filter.search, once", async () => {
    const result = await service.gql(PRODUCTS, { filter: { search: "x".repeat(5000) } }, CUSTOMER);
    expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.search" });
    expect(result.errors?.[0].message).toMatch(/^filter\.search: /);
  });
});

describe("batching", () => {
  it("resolves available, stock and category for 50 products with as many SQL statements as for 5", async () => {
    const { createCategory: category } = await ok(service, `mutation { createCategory(name: "Batch") { id } }`);
    const batch = `bt${randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 50; i++) {
      const product = await createProduct(service, { name: `${batch} ${String(i).padStart(2, "0")}`, categoryId: category.id });
      if (i % 3 === 0) await adjustStock(service, product.id, warehouse, 1 + i);
    }
    const query = `query BatchProbe($filter: ProductFilter, $first: Int) { products(filter: $filter, first: $first) { edges { node { id available stock { onHand reserved warehouse { code } } category { name } } } } }`;
    // The statements each GraphQL request caused (the metric counts per request, so the outbox relay
    // and consumers working meanwhile are not in it).
    const counted = async () =>
      (await service.runtime.metrics.dbStatementsByOperation.get()).values.find((v) => v.labels.operation === "BatchProbe")?.value ?? 0;
    const statements = async (first: number) => {
      const before = await counted();
      const data = await ok(service, query, { filter: { search: batch }, first }, STAFF);
      expect(data.products.edges).toHaveLength(first);
      return (await counted()) - before;
    };
    const five = await statements(5);
    const fifty = await statements(50);
    expect(fifty).toBe(five);
    // page (with available) + category + stock + warehouse; no count, as totalCount is not asked for
    expect(five).toBe(4);
  }, 60_000);
});
