import { randomUUID } from "node:crypto";
import { catalogRevisionsKey, catalogVersionKey } from "@commerce/kit";
import {
  ADMIN,
  CUSTOMER,
  SERVICE,
  STAFF,
  adjustStock,
  createProduct,
  createWarehouse,
  failure,
  handle,
  ok,
  orderCancelled,
  orderPlaced,
  outbox,
  startProductSubgraph,
  type ProductTestSubgraph,
} from "../test-support";
import { Product } from "./product.entity";

let service: ProductTestSubgraph;
beforeAll(async () => {
  service = await startProductSubgraph();
});
afterAll(() => service?.stop());

const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku name description price { amount currency } attributes { name value } lowStockThreshold available category { id name } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name price { amount currency } category { id } active } }`;
const PRODUCT = `query($id: ID!) { product(id: $id) { id name active } }`;

describe("catalog CRUD and authorization", () => {
  it("lets an ADMIN create a product with category and attributes, and announces it", async () => {
    const { createCategory: parent } = await ok(service, `mutation { createCategory(name: "Tools") { id } }`);
    const { createCategory: child } = await ok(
      service,
      `mutation($p: ID) { createCategory(name: "Hammers", parentId: $p) { id parent { id name } } }`,
      { p: parent.id },
    );
    expect(child.parent).toEqual({ id: parent.id, name: "Tools" });
    const sku = `HAM-${randomUUID().slice(0, 6)}`;
    const { createProduct: product } = await ok(service, CREATE, {
      input: {
        sku,
        name: "Claw hammer",
        description: "Steel",
        price: { amount: 2499 },
        categoryId: child.id,
        attributes: [{ name: "weight", value: "500g" }],
        lowStockThreshold: 4,
      },
    });
    expect(product).toMatchObject({
      sku,
      price: { amount: 2499, currency: "USD" },
      attributes: [{ name: "weight", value: "500g" }],
      lowStockThreshold: 4,
      available: 0,
      category: { id: child.id, name: "Hammers" },
    });
    const events = await outbox(service, "product.upserted", product.id);
    expect(events.map((event) => event.payload)).toEqual([
      {
        productId: product.id,
        sku,
        name: "Claw hammer",
        price: { amount: 2499, currency: "USD" },
        active: true,
        categoryId: child.id,
        categoryName: "Hammers",
      },
    ]);
  });

  it("refuses catalog changes to customers, staff and anonymous callers", async () => {
    const input = { sku: "X-1", name: "X", price: { amount: 1 } };
    expect(await failure(service, CREATE, { input }, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, CREATE, { input }, STAFF)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, CREATE, { input }, null)).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(await failure(service, `mutation { createWarehouse(code: "X", name: "X") { id } }`, {}, STAFF)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, `mutation { createCategory(name: "X") { id } }`, {}, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, `query { warehouses { id } }`, {}, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
    expect(Array.isArray((await ok(service, `query { warehouses { id code } }`, {}, STAFF)).warehouses)).toBe(true);
  });

  it("validates input and names the field", async () => {
    expect(await failure(service, CREATE, { input: { sku: "bad sku!", name: "X", price: { amount: 1 } } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: expect.stringMatching(/(^|\.)sku$/),
    });
    expect(await failure(service, CREATE, { input: { sku: "OK-1", name: "X", price: { amount: -1 } } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: expect.stringMatching(/(^|\.)price\.amount$/),
    });
    expect(
      await failure(service, CREATE, { input: { sku: "OK-2", name: "X", price: { amount: 1 }, categoryId: randomUUID() } }, ADMIN),
    ).toMatchObject({ code: "NOT_FOUND", field: "input.categoryId" });
    // A reference to something that does not exist names the argument that holds it, like bad input does.
    expect(
      await failure(service, `mutation($p: ID) { createCategory(name: "Orphan", parentId: $p) { id } }`, { p: randomUUID() }, ADMIN),
    ).toMatchObject({ code: "NOT_FOUND", field: "parentId" });
    const { sku } = await createProduct(service);
    expect(await failure(service, CREATE, { input: { sku, name: "Twin", price: { amount: 1 } } }, ADMIN)).toMatchObject({
      code: "CONFLICT",
      field: "input.sku",
    });
  });

  it("takes prices in ISO 4217 currencies only, on create and on update, naming input.price.currency", async () => {
    const price = (currency: string) => ({ amount: 100, currency });
    for (const currency of ["ZZZ", "ABC", "XYZ"]) {
      expect(Intl.supportedValuesOf("currency")).not.toContain(currency);
      expect(
        await failure(service, CREATE, { input: { sku: `CUR-${randomUUID().slice(0, 6)}`, name: "X", price: price(currency) } }, ADMIN),
      ).toMatchObject({
        code: "BAD_USER_INPUT",
        field: "input.price.currency",
      });
    }
    const product = await createProduct(service, { price: price("USD") });
    expect(await failure(service, UPDATE, { id: product.id, input: { price: price("ZZZ") } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.price.currency",
    });
    expect((await ok(service, `query($id: ID!) { product(id: $id) { price { currency } } }`, { id: product.id })).product.price.currency).toBe("USD");
  });

  it("sells only in the currency wallets pay in (WALLET_CURRENCY): another real one is refused on create and update, naming input.price.currency", async () => {
    const price = (currency: string) => ({ amount: 100, currency });
    const product = await createProduct(service, { price: price("USD") });
    for (const currency of ["JPY", "EUR", "BRL"]) {
      const sku = `CUR-${randomUUID().slice(0, 6)}`;
      expect(await failure(service, CREATE, { input: { sku, name: "X", price: price(currency) } }, ADMIN)).toMatchObject({
        code: "BAD_USER_INPUT",
        field: "input.price.currency",
      });
      expect(await failure(service, UPDATE, { id: product.id, input: { price: price(currency) } }, ADMIN)).toMatchObject({
        code: "BAD_USER_INPUT",
        field: "input.price.currency",
      });
      expect(await service.runtime.orm.em.fork().getConnection().execute(`select id from products where sku = ?`, [sku])).toEqual([]);
    }
    expect((await ok(service, `query($id: ID!) { product(id: $id) { price { currency } } }`, { id: product.id })).product.price.currency).toBe("USD");
    expect((await outbox(service, "product.upserted", product.id)).map((event) => (event.payload as { price: unknown }).price)).toEqual([
      price("USD"),
    ]);
  });

  it("keeps sibling category names unique whatever their case; other parents may reuse them", async () => {
    const name = `Audio ${randomUUID().slice(0, 8)}`;
    const create = `mutation($n: String!, $p: ID) { createCategory(name: $n, parentId: $p) { id name } }`;
    const { createCategory: root } = await ok(service, create, { n: name });
    expect(await failure(service, create, { n: ` ${name.toLowerCase()} ` }, ADMIN)).toMatchObject({ code: "CONFLICT", field: "name" });
    const { createCategory: child } = await ok(service, create, { n: name, p: root.id });
    expect(child.name).toBe(name);
    expect(await failure(service, create, { n: name.toUpperCase(), p: root.id }, ADMIN)).toMatchObject({ code: "CONFLICT", field: "name" });
  });

  it("refuses a blank name, measured after trimming, on create and on update", async () => {
    expect(await failure(service, CREATE, { input: { sku: "BLANK-1", name: "   ", price: { amount: 1 } } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.name",
    });
    const product = await createProduct(service);
    expect(await failure(service, UPDATE, { id: product.id, input: { name: " \t " } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.name",
    });
    const renamed = await ok<{ updateProduct: { name: string } }>(service, UPDATE, { id: product.id, input: { name: "  Padded  " } }, ADMIN);
    expect(renamed.updateProduct.name).toBe("Padded");
  });

  it("stores a description trimmed and a blank one as none, on create and on update, as it does the name", async () => {
    const DESCRIPTION = `query($id: ID!) { product(id: $id) { description } }`;
    const stored = async (id: string) => (await ok<{ product: { description: string | null } }>(service, DESCRIPTION, { id })).product.description;
    const create = (description: string) => createProduct(service, { description });
    const update = (id: string, description: string | null) => ok(service, UPDATE, { id, input: { description } });
    for (const blank of ["", "   ", " \t\n "]) {
      expect(await stored((await create(blank)).id)).toBeNull();
    }
    const padded = await create("  Forged steel \n");
    expect(await stored(padded.id)).toBe("Forged steel");
    await update(padded.id, " \t ");
    expect(await stored(padded.id)).toBeNull();
    await update(padded.id, "\tCast iron  ");
    expect(await stored(padded.id)).toBe("Cast iron");
    await update(padded.id, null);
    expect(await stored(padded.id)).toBeNull();
    // The length limit counts what is stored, as the name's does.
    const longest = "d".repeat(5000);
    await update(padded.id, `  ${longest}  `);
    expect(await stored(padded.id)).toBe(longest);
    expect(await failure(service, UPDATE, { id: padded.id, input: { description: `${longest}d` } }, ADMIN)).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.description",
    });
  });

  it("treats SKUs that differ only in case as the same SKU, on create and on update", async () => {
    const sku = `SSD-${randomUUID().slice(0, 6).toUpperCase()}`;
    const original = await createProduct(service, { sku });
    expect(await failure(service, CREATE, { input: { sku: sku.toLowerCase(), name: "Twin", price: { amount: 1 } } }, ADMIN)).toMatchObject({
      code: "CONFLICT",
      field: "input.sku",
    });
    const other = await createProduct(service);
    expect(await failure(service, UPDATE, { id: other.id, input: { sku: sku.toLowerCase() } }, ADMIN)).toMatchObject({
      code: "CONFLICT",
      field: "input.sku",
    });
    // A product may change the case of its own SKU.
    const SKU_OF = `query($id: ID!) { product(id: $id) { sku } }`;
    await ok(service, UPDATE, { id: original.id, input: { sku: sku.toLowerCase() } });
    expect((await ok(service, SKU_OF, { id: original.id })).product.sku).toBe(sku.toLowerCase());
    // The database refuses a case-variant too, whatever path the row comes by.
    const insert = (id: string, variant: string) =>
      service.runtime.orm.em
        .fork()
        .getConnection()
        .execute(
          `insert into products (id, sku, name, price_amount, price_currency, attributes, low_stock_threshold, active, created_at, updated_at) values (?, ?, 'Raw', 1, 'USD', '[]', 0, true, now(), now())`,
          [id, variant],
        );
    await expect(insert(randomUUID(), sku)).rejects.toMatchObject({ code: "23505" });
  });

  it("updates only the given fields and announces the new price", async () => {
    const product = await createProduct(service, { description: "kept" });
    const { updateProduct } = await ok(service, UPDATE, { id: product.id, input: { price: { amount: 500, currency: "USD" } } });
    expect(updateProduct).toMatchObject({ name: product.name, price: { amount: 500, currency: "USD" }, active: true });
    const events = await outbox(service, "product.upserted", product.id);
    expect(events.at(-1)!.payload).toMatchObject({ price: { amount: 500, currency: "USD" } });
    expect(await failure(service, UPDATE, { id: randomUUID(), input: { name: "Ghost" } }, ADMIN)).toMatchObject({ code: "NOT_FOUND", field: "id" });
    expect(await failure(service, UPDATE, { id: product.id, input: { name: "Mine" } }, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
  });

  it("raises the product's catalog revision to its latest product.upserted before the change commits", async () => {
    const revision = async (id: string) => service.runtime.redis.zscore(catalogRevisionsKey(service.runtime.config.streamPrefix), id);
    const product = await createProduct(service);
    const created = await outbox(service, "product.upserted", product.id);
    expect(Number(await revision(product.id))).toBe(Date.parse(created.at(-1)!.occurredAt));
    await ok(service, UPDATE, { id: product.id, input: { price: { amount: 777, currency: "USD" } } });
    const updated = (await outbox(service, "product.upserted", product.id)).at(-1)!;
    expect(updated.payload).toMatchObject({ price: { amount: 777 } });
    expect(Number(await revision(product.id))).toBe(Date.parse(updated.occurredAt));
  });

  it("soft-deletes: hidden from customers, visible to staff, still resolvable for old orders", async () => {
    const product = await createProduct(service);
    expect((await ok(service, `mutation($id: ID!) { deleteProduct(id: $id) }`, { id: product.id })).deleteProduct).toBe(true);
    expect((await ok(service, PRODUCT, { id: product.id }, CUSTOMER)).product).toBeNull();
    expect((await ok(service, PRODUCT, { id: product.id }, null)).product).toBeNull();
    expect((await ok(service, PRODUCT, { id: product.id }, STAFF)).product).toMatchObject({ active: false });
    const search = `query($s: String) { products(filter: { search: $s }) { totalCount } }`;
    expect((await ok(service, search, { s: product.sku }, CUSTOMER)).products.totalCount).toBe(0);
    expect((await ok(service, search, { s: product.sku }, STAFF)).products.totalCount).toBe(1);
    const entities = await ok(
      service,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name active } } }`,
      {
        r: [{ __typename: "Product", id: product.id }],
      },
      SERVICE,
    );
    expect(entities._entities).toEqual([{ id: product.id, name: product.name, active: false }]);
    expect((await outbox(service, "product.upserted", product.id)).at(-1)!.payload).toMatchObject({ active: false });
    expect((await ok(service, PRODUCT, { id: "not-a-uuid" }, CUSTOMER)).product).toBeNull();
  });

  it("serves _catalogProducts to services only", async () => {
    const product = await createProduct(service, { price: { amount: 123, currency: "USD" } });
    const query = `query($ids: [ID!]!) { _catalogProducts(ids: $ids) { id sku name price { amount currency } active } }`;
    const data = await ok(service, query, { ids: [product.id, randomUUID(), "junk"] }, SERVICE);
    expect(data._catalogProducts).toEqual([
      { id: product.id, sku: product.sku, name: product.name, price: { amount: 123, currency: "USD" }, active: true },
    ]);
    expect(await failure(service, query, { ids: [product.id] }, ADMIN)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, query, { ids: [product.id] }, null)).toMatchObject({ code: "FORBIDDEN" });
    const sdl = (await ok(service, `{ _service { sdl } }`, {}, SERVICE))._service.sdl as string;
    expect(sdl).toMatch(/_catalogProducts\(ids: \[ID!\]!\): \[CatalogProduct!\]! @inaccessible/);
  });
});

describe("the catalog version (kit/src/catalog-cache.ts)", () => {
  const version = async () => Number((await service.runtime.redis.get(catalogVersionKey(service.runtime.config.streamPrefix))) ?? 0);
  /** Runs `work` and returns by how much the catalog version moved. */
  const bumps = async (work: () => Promise<unknown>) => {
    const before = await version();
    await work();
    return (await version()) - before;
  };

  it("moves once per commit that changes a product or a category, never for stock", async () => {
    const warehouse = await createWarehouse(service);
    let product = { id: "" };
    expect(await bumps(async () => (product = await createProduct(service)))).toBe(1);
    expect(await bumps(() => ok(service, UPDATE, { id: product.id, input: { price: { amount: 640, currency: "USD" } } }))).toBe(1);
    expect(await bumps(() => ok(service, UPDATE, { id: product.id, input: { price: { amount: 640, currency: "USD" } } }))).toBe(0);
    expect(await bumps(() => ok(service, `mutation($n: String!) { createCategory(name: $n) { id } }`, { n: `Shelf ${randomUUID()}` }))).toBe(1);
    expect(await bumps(() => ok(service, `mutation($id: ID!) { deleteProduct(id: $id) }`, { id: product.id }))).toBe(1);
    expect(await bumps(() => ok(service, UPDATE, { id: product.id, input: { active: true } }))).toBe(1);
    // A flush outside any transaction commits in one of its own.
    expect(
      await bumps(async () => {
        const em = service.runtime.orm.em.fork();
        (await em.findOneOrFail(Product, product.id)).name = "Renamed by a bare flush";
        await em.flush();
      }),
    ).toBe(1);

    // Stock: an adjustment, the saga's reservation and its release.
    expect(await bumps(() => adjustStock(service, product.id, warehouse, 5))).toBe(0);
    const orderId = randomUUID();
    expect(await bumps(() => handle(service, orderPlaced([{ productId: product.id, quantity: 2 }], orderId)))).toBe(0);
    expect((await ok(service, `query($id: ID!) { product(id: $id) { available } }`, { id: product.id }, null)).product.available).toBe(3);
    expect(await bumps(() => handle(service, orderCancelled(orderId)))).toBe(0);
    expect((await ok(service, `query($id: ID!) { product(id: $id) { available } }`, { id: product.id }, null)).product.available).toBe(5);
  });
});

describe("stock", () => {
  it("adjustStock never takes on hand below what is reserved", async () => {
    const warehouse = await createWarehouse(service);
    const product = await createProduct(service);
    await adjustStock(service, product.id, warehouse, 5);
    await handle(service, orderPlaced([{ productId: product.id, quantity: 3 }]));
    const adjust = `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "count") { onHand reserved warehouse { id } } }`;
    expect(await failure(service, adjust, { p: product.id, w: warehouse, d: -3 }, STAFF)).toMatchObject({ code: "BAD_USER_INPUT", field: "delta" });
    expect((await ok(service, adjust, { p: product.id, w: warehouse, d: -2 }, STAFF)).adjustStock).toEqual({
      onHand: 3,
      reserved: 3,
      warehouse: { id: warehouse },
    });
    expect(await failure(service, adjust, { p: product.id, w: warehouse, d: 1 }, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(service, adjust, { p: randomUUID(), w: warehouse, d: 1 }, STAFF)).toMatchObject({ code: "NOT_FOUND", field: "productId" });
    expect(await failure(service, adjust, { p: product.id, w: randomUUID(), d: 1 }, STAFF)).toMatchObject({
      code: "NOT_FOUND",
      field: "warehouseId",
    });
  });

  it("a raised lowStockThreshold that puts the product below it alerts once", async () => {
    const warehouse = await createWarehouse(service);
    const product = await createProduct(service);
    await adjustStock(service, product.id, warehouse, 5);
    const raise = (threshold: number) => ok(service, UPDATE, { id: product.id, input: { lowStockThreshold: threshold } });
    await raise(8);
    await raise(9);
    const alerts = await outbox(service, "inventory.low_stock", product.id);
    expect(alerts.map((event) => event.payload)).toEqual([
      { productId: product.id, sku: product.sku, name: product.name, available: 5, threshold: 8 },
    ]);
  });

  it("shows available to everyone and per-warehouse stock to STAFF/ADMIN only", async () => {
    const [a, b] = [await createWarehouse(service), await createWarehouse(service)];
    const product = await createProduct(service);
    await adjustStock(service, product.id, a, 4);
    await adjustStock(service, product.id, b, 6);
    await handle(service, orderPlaced([{ productId: product.id, quantity: 7 }]));
    const query = `query($id: ID!) { product(id: $id) { available stock { warehouse { id } onHand reserved } } }`;
    const { product: seen } = await ok(service, query, { id: product.id }, STAFF);
    expect(seen.available).toBe(3);
    expect(seen.stock).toHaveLength(2);
    expect(seen.stock.reduce((sum: number, level: { reserved: number }) => sum + level.reserved, 0)).toBe(7);
    expect(await failure(service, query, { id: product.id }, CUSTOMER)).toMatchObject({ code: "FORBIDDEN" });
    expect((await ok(service, `query($id: ID!) { product(id: $id) { available } }`, { id: product.id }, CUSTOMER)).product.available).toBe(3);
  });
});
