import {
  CUSTOMER,
  STAFF,
  adjustStock,
  createProduct,
  createWarehouse,
  failure,
  ok,
  startProductSubgraph,
  stockOf,
  type ProductTestSubgraph,
} from "../test-support";
import { MAX_ON_HAND } from "./stock-level.entity";

// On-hand stock is a Postgres integer and `available` a GraphQL Int (both 32-bit): adjustments stop at
// MAX_ON_HAND (1 billion) per warehouse, so neither a row nor the sum over warehouses can overflow.

const MAX = MAX_ON_HAND;
const ADJUST = `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "delivery") { onHand reserved } }`;
const CATALOG = `query { products(first: 100) { edges { node { name available } } } }`;

let service: ProductTestSubgraph;
beforeAll(async () => {
  service = await startProductSubgraph();
});
afterAll(() => service?.stop());

const adjustmentsOf = async (productId: string): Promise<number> => {
  const rows: { count: string }[] = await service.runtime.orm.em
    .fork()
    .getConnection()
    .execute(`select count(*) from stock_adjustments where product_id = ?`, [productId]);
  return Number(rows[0].count);
};

describe("adjustStock stays within a 32-bit stock count", () => {
  it("refuses taking one warehouse's on-hand past the maximum, naming delta, and saves nothing", async () => {
    const warehouse = await createWarehouse(service);
    const product = await createProduct(service);
    await adjustStock(service, product.id, warehouse, 5);
    const refused = await failure(service, ADJUST, { p: product.id, w: warehouse, d: 2_147_483_647 }, STAFF);
    expect(refused).toMatchObject({ code: "BAD_USER_INPUT", field: "delta" });
    expect(await stockOf(service, product.id)).toEqual({ [warehouse]: { onHand: 5, reserved: 0 } });
    expect(await adjustmentsOf(product.id)).toBe(1);
    expect((await ok(service, ADJUST, { p: product.id, w: warehouse, d: MAX - 5 }, STAFF)).adjustStock).toEqual({ onHand: MAX, reserved: 0 });
  });

  it("refuses taking the product's total on-hand over all warehouses past the maximum", async () => {
    const [a, b] = [await createWarehouse(service), await createWarehouse(service)];
    const product = await createProduct(service);
    await adjustStock(service, product.id, a, 600_000_000);
    expect(await failure(service, ADJUST, { p: product.id, w: b, d: 600_000_000 }, STAFF)).toMatchObject({ code: "BAD_USER_INPUT", field: "delta" });
    expect(await stockOf(service, product.id)).toEqual({ [a]: { onHand: 600_000_000, reserved: 0 } });
    await adjustStock(service, product.id, b, MAX - 600_000_000);
    const { product: seen } = await ok(service, `query($id: ID!) { product(id: $id) { available } }`, { id: product.id }, CUSTOMER);
    expect(seen.available).toBe(MAX);
    const catalog = await service.gql<{ products: { edges: unknown[] } }>(CATALOG, {}, null);
    expect(catalog.errors).toBeUndefined();
    expect(catalog.data?.products.edges.length).toBeGreaterThan(0);
  });

  it("lets only one of two concurrent adjustments that would overflow together through", async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await createWarehouse(service), await createWarehouse(service)];
      const product = await createProduct(service);
      const results = await Promise.all([a, b].map((warehouse) => service.gql(ADJUST, { p: product.id, w: warehouse, d: 600_000_000 }, STAFF)));
      expect(results.filter((result) => !result.errors).length).toBe(1);
      expect(results.find((result) => result.errors)!.errors![0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "delta" });
      const total = Object.values(await stockOf(service, product.id)).reduce((sum, level) => sum + level.onHand, 0);
      expect(total).toBe(600_000_000);
    }
  });
});
