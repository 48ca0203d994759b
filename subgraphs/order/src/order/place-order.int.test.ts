import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { catalogRevisionsKey } from "@commerce/kit";
import { PLACE, asUser, placeOrder, seedProduct, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
let catalogServer: Server;
let catalogRequests = 0;
// What the stand-in product subgraph knows: products created "a moment ago" that no event has brought yet.
const remoteCatalog = new Map<string, { id: string; sku: string; name: string; price: { amount: number; currency: string }; active: boolean }>();

beforeAll(async () => {
  catalogServer = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      catalogRequests += 1;
      const { variables } = JSON.parse(body) as { variables: { ids: string[] } };
      const products = variables.ids.map((id) => remoteCatalog.get(id)).filter(Boolean);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: { _catalogProducts: products } }));
    });
  });
  await new Promise<void>((resolve) => catalogServer.listen(0, "127.0.0.1", resolve));
  const port = (catalogServer.address() as AddressInfo).port;
  subgraph = await startOrderSubgraph({ SUBGRAPH_PRODUCT_URL: `http://127.0.0.1:${port}/graphql` });
});
afterAll(async () => {
  await subgraph?.stop();
  await new Promise((resolve) => catalogServer?.close(resolve));
});

const place = (userId: string | null, input: Record<string, unknown>) =>
  subgraph.gql<{
    placeOrder: { id: string; status: string; total: { amount: number; currency: string }; items: { unitPrice: { amount: number } }[] };
  }>(PLACE, { input }, userId ? asUser(userId) : null);

describe("placeOrder", () => {
  test("needs a signed-in user", async () => {
    const productId = await seedProduct(subgraph);
    const result = await place(null, { items: [{ productId, quantity: 1 }] });
    expect(result.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  test("prices lines and the total from the catalog, returns PENDING with its first history entry", async () => {
    const userId = randomUUID();
    const a = await seedProduct(subgraph, { amount: 1250 });
    const b = await seedProduct(subgraph, { amount: 399 });
    const result = await subgraph.gql<{ placeOrder: Record<string, any> }>(
      PLACE,
      // unitPrice is not even part of the input: a client cannot set a price.
      {
        input: {
          items: [
            { productId: a, quantity: 2 },
            { productId: b, quantity: 3 },
          ],
          name: "Birthday",
        },
      },
      asUser(userId),
    );
    expect(result.errors).toBeUndefined();
    const order = result.data!.placeOrder;
    expect(order).toMatchObject({
      name: "Birthday",
      status: "PENDING",
      failureReason: null,
      total: { amount: 2 * 1250 + 3 * 399, currency: "USD" },
      user: { id: userId },
      items: [
        { product: { id: a }, quantity: 2, unitPrice: { amount: 1250, currency: "USD" } },
        { product: { id: b }, quantity: 3, unitPrice: { amount: 399, currency: "USD" } },
      ],
    });
    expect(order.statusHistory).toEqual([{ status: "PENDING", reason: "order placed", at: order.createdAt }]);
  });

  test("writes order.placed and order.status_changed to the outbox with the order", async () => {
    const userId = randomUUID();
    const productId = await seedProduct(subgraph, { amount: 700 });
    const orderId = await placeOrder(subgraph, userId, [productId], { quantity: 4, name: "Birthday gifts" });
    const rows = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ type: string; stream: string; payload: Record<string, any> }[]>(
        `select type, stream, payload from outbox where correlation_id = ? order by id`,
        [orderId],
      );
    expect(rows.map((row) => row.type)).toEqual(["order.placed", "order.status_changed"]);
    expect(rows.every((row) => row.stream === "order")).toBe(true);
    expect(rows[0].payload.payload).toEqual({
      orderId,
      userId,
      items: [{ productId, quantity: 4, unitPrice: { amount: 700, currency: "USD" } }],
      total: { amount: 2800, currency: "USD" },
      name: "Birthday gifts", // so that messages about the order can call it by its name
    });
    expect(rows[1].payload.payload).toMatchObject({ orderId, userId, status: "PENDING", previousStatus: null, reason: "order placed" });
  });

  test("rejects unknown and inactive products naming the line", async () => {
    const userId = randomUUID();
    const active = await seedProduct(subgraph);
    const inactive = await seedProduct(subgraph, { active: false });
    const unknown = await place(userId, {
      items: [
        { productId: active, quantity: 1 },
        { productId: randomUUID(), quantity: 1 },
      ],
    });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.1.productId" });
    const notUuid = await place(userId, { items: [{ productId: "nope", quantity: 1 }] });
    expect(notUuid.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.0.productId" });
    const retired = await place(userId, { items: [{ productId: inactive, quantity: 1 }] });
    expect(retired.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.0.productId" });
  });

  test("a deleted product is refused to a customer exactly as an unknown id is, without its SKU or name", async () => {
    const name = `Secret ${randomUUID().slice(0, 6)}`;
    const deleted = await seedProduct(subgraph, { active: false, name });
    const unknown = randomUUID();
    const active = await seedProduct(subgraph);
    const refusal = async (productId: string, role: "CUSTOMER" | "STAFF" | "ADMIN" = "CUSTOMER") => {
      const result = await subgraph.gql(
        PLACE,
        {
          input: {
            items: [
              { productId: active, quantity: 1 },
              { productId, quantity: 1 },
            ],
          },
        },
        asUser(randomUUID(), role),
      );
      const [error] = result.errors!;
      return { message: error.message.replace(productId, "<id>"), extensions: error.extensions };
    };
    const [sku] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ sku: string }[]>(`select sku from catalog_products where id = ?`, [deleted]);
    const asDeleted = await refusal(deleted);
    expect(asDeleted).toEqual(await refusal(unknown));
    expect(asDeleted.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.1.productId" });
    expect(asDeleted.message).not.toContain(sku.sku);
    expect(asDeleted.message).not.toContain(name);
    // STAFF and ADMIN see deleted products in the catalog: they are told which one it is.
    for (const role of ["STAFF", "ADMIN"] as const) {
      const asStaff = await refusal(deleted, role);
      expect(asStaff.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.1.productId" });
      expect(asStaff.message).toContain(name);
    }
  });

  test("validation errors name the field", async () => {
    const userId = randomUUID();
    const productId = await seedProduct(subgraph);
    const cases: [Record<string, unknown>, string][] = [
      [{ items: [] }, "input.items"],
      [{ items: [{ productId, quantity: 0 }] }, "input.items.0.quantity"],
      [
        {
          items: [
            { productId, quantity: 1 },
            { productId, quantity: 1 },
          ],
        },
        "input.items",
      ],
      [{ items: [{ productId, quantity: 1 }], name: "x".repeat(201) }, "input.name"],
      // Order names reach e-mail subjects: no line breaks, no bidirectional overrides.
      [{ items: [{ productId, quantity: 1 }], name: "gifts\u202Etxt.exe" }, "input.name"],
      [{ items: [{ productId, quantity: 1 }], name: "\u2066hidden\u2069" }, "input.name"],
      [{ items: [{ productId, quantity: 1 }], name: "Birthday\r\nBcc: x@y" }, "input.name"],
    ];
    for (const [input, field] of cases) {
      const result = await place(userId, input);
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
  });

  test("refuses a total above the largest Int before saving anything", async () => {
    const userId = randomUUID();
    const priciest = await seedProduct(subgraph, { amount: 2 ** 31 - 1 });
    const cheap = await seedProduct(subgraph, { amount: 1 });
    const atTheLimit = await place(userId, { items: [{ productId: priciest, quantity: 1 }] });
    expect(atTheLimit.errors).toBeUndefined();
    expect(atTheLimit.data!.placeOrder.total.amount).toBe(2 ** 31 - 1);

    const over = await place(userId, {
      items: [
        { productId: priciest, quantity: 1 },
        { productId: cheap, quantity: 1 },
      ],
    });
    expect(over.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items" });
    const huge = await place(userId, { items: [{ productId: priciest, quantity: 1000 }] });
    expect(huge.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items" });
    const [{ n }] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ n: string }[]>(`select count(*) as n from orders where user_id = ?`, [userId]);
    expect(Number(n)).toBe(1);
  });

  test("refuses a product priced in a currency wallets cannot pay (not WALLET_CURRENCY), naming its line, and places nothing", async () => {
    const usd = await seedProduct(subgraph, { currency: "USD" });
    const eur = await seedProduct(subgraph, { currency: "EUR" });
    const userId = randomUUID();
    for (const items of [
      [{ productId: eur, quantity: 1 }],
      [
        { productId: usd, quantity: 1 },
        { productId: eur, quantity: 1 },
      ],
    ]) {
      const result = await place(userId, { items });
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: `input.items.${items.length - 1}.productId` });
    }
    const [{ n }] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ n: string }[]>(`select count(*) as n from orders where user_id = ?`, [userId]);
    expect(Number(n)).toBe(0);
  });

  test("a product not yet in the replica is fetched from the product subgraph and stored", async () => {
    const id = randomUUID();
    remoteCatalog.set(id, { id, sku: "NEW-1", name: "Brand new", price: { amount: 4200, currency: "USD" }, active: true });
    const before = catalogRequests;
    const first = await place(randomUUID(), { items: [{ productId: id, quantity: 1 }] });
    expect(first.errors).toBeUndefined();
    expect(first.data!.placeOrder.total.amount).toBe(4200);
    expect(catalogRequests).toBe(before + 1);
    // Now in the replica too, the fallback for when the product subgraph cannot answer.
    const [row] = await subgraph.runtime.orm.em.getConnection().execute(`select price_amount from catalog_products where id = ?`, [id]);
    expect(row.price_amount).toBe(4200);
  });

  test("a price changed a moment ago is the price, before product.upserted reaches the replica", async () => {
    const id = await seedProduct(subgraph, { amount: 1000 });
    remoteCatalog.set(id, { id, sku: `SKU-${id.slice(0, 8)}`, name: "Widget", price: { amount: 900, currency: "USD" }, active: true });
    const placed = await place(randomUUID(), { items: [{ productId: id, quantity: 2 }] });
    expect(placed.errors).toBeUndefined();
    expect(placed.data!.placeOrder.items[0].unitPrice.amount).toBe(900);
    expect(placed.data!.placeOrder.total.amount).toBe(1800);
    // …and a product withdrawn a moment ago no longer sells.
    remoteCatalog.set(id, { ...remoteCatalog.get(id)!, active: false });
    expect((await place(randomUUID(), { items: [{ productId: id, quantity: 1 }] })).errors?.[0].extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.items.0.productId",
    });
  });

  test("a replica that has caught up with every product's catalog revision prices without asking the product subgraph", async () => {
    const id = await seedProduct(subgraph, { amount: 1000 });
    const [{ at }] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ at: string }[]>(`select (extract(epoch from updated_at) * 1000)::bigint as at from catalog_products where id = ?`, [id]);
    const revisions = catalogRevisionsKey(subgraph.runtime.config.streamPrefix);
    // The product subgraph would say 900: a call would show in the price and in the count.
    remoteCatalog.set(id, { id, sku: `SKU-${id.slice(0, 8)}`, name: "Widget", price: { amount: 900, currency: "USD" }, active: true });

    await subgraph.runtime.redis.zadd(revisions, Number(at), id);
    const before = catalogRequests;
    const current = await place(randomUUID(), { items: [{ productId: id, quantity: 1 }] });
    expect(current.data!.placeOrder.total.amount).toBe(1000);
    expect(catalogRequests).toBe(before);

    // A change the replica has not applied yet: asked, and the answer is stored dated below the revision,
    // so the replica counts as current only once product.upserted itself arrives.
    await subgraph.runtime.redis.zadd(revisions, Number(at) + 60_000, id);
    const changed = await place(randomUUID(), { items: [{ productId: id, quantity: 1 }] });
    expect(changed.data!.placeOrder.total.amount).toBe(900);
    expect(catalogRequests).toBe(before + 1);
    await place(randomUUID(), { items: [{ productId: id, quantity: 1 }] });
    expect(catalogRequests).toBe(before + 2);
    const [row] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ price_amount: number; at: string }[]>(
        `select price_amount, (extract(epoch from updated_at) * 1000)::bigint as at from catalog_products where id = ?`,
        [id],
      );
    expect(row!.price_amount).toBe(900);
    expect(Number(row!.at)).toBeLessThan(Number(at) + 60_000);
  });

  test("an unknown product with the product subgraph unreachable fails clearly, naming the line", async () => {
    catalogServer.closeAllConnections();
    const closed = new Promise((resolve) => catalogServer.close(resolve));
    await closed;
    const known = await seedProduct(subgraph);
    const result = await place(randomUUID(), {
      items: [
        { productId: known, quantity: 1 },
        { productId: randomUUID(), quantity: 1 },
      ],
    });
    expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items.1.productId" });
    expect(result.errors?.[0].message).toMatch(/catalog could not be reached/);
    // Known products still sell while the product subgraph is down, at the replica's price.
    const fallback = await place(randomUUID(), { items: [{ productId: known, quantity: 1 }] });
    expect(fallback.errors).toBeUndefined();
    expect(fallback.data!.placeOrder.total.amount).toBe(1000);
  });
});

describe("idempotency", () => {
  test("the same key from the same user returns the same order; another user's key is independent", async () => {
    const productId = await seedProduct(subgraph);
    const alice = randomUUID();
    const bob = randomUUID();
    const first = await placeOrder(subgraph, alice, [productId], { idempotencyKey: "checkout-1" });
    const again = await placeOrder(subgraph, alice, [productId], { idempotencyKey: "checkout-1" });
    const bobs = await placeOrder(subgraph, bob, [productId], { idempotencyKey: "checkout-1" });
    expect(again).toBe(first);
    expect(bobs).not.toBe(first);
  });

  test("the same key with another cart or name is a CONFLICT naming the key; the same request in another line order is the same order", async () => {
    const a = await seedProduct(subgraph);
    const b = await seedProduct(subgraph);
    const userId = randomUUID();
    const input = {
      items: [
        { productId: a, quantity: 1 },
        { productId: b, quantity: 2 },
      ],
      name: "Gift",
      idempotencyKey: "checkout-2",
    };
    const first = await place(userId, input);
    expect(first.errors).toBeUndefined();
    for (const changed of [
      { ...input, items: [{ productId: a, quantity: 1 }] },
      {
        ...input,
        items: [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 3 },
        ],
      },
      { ...input, name: "Another gift" },
    ]) {
      const result = await place(userId, changed);
      expect(result.data).toBeNull();
      expect(result.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", field: "input.idempotencyKey" });
    }
    const again = await place(userId, { ...input, items: [...input.items].reverse() });
    expect(again.data?.placeOrder.id).toBe(first.data!.placeOrder.id);
    const [{ n }] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ n: string }[]>(`select count(*) as n from orders where user_id = ?`, [userId]);
    expect(Number(n)).toBe(1);
  });

  test("an empty or blank key is refused, naming the field, and places nothing", async () => {
    const productId = await seedProduct(subgraph);
    const userId = randomUUID();
    for (const idempotencyKey of ["", "", "   "]) {
      const result = await place(userId, { items: [{ productId, quantity: 1 }], idempotencyKey });
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.idempotencyKey" });
    }
    const [{ n }] = await subgraph.runtime.orm.em
      .getConnection()
      .execute<{ n: string }[]>(`select count(*) as n from orders where user_id = ?`, [userId]);
    expect(Number(n)).toBe(0);
  });

  test("10 concurrent placements with one key make one order and one order.placed", async () => {
    const productId = await seedProduct(subgraph);
    const userId = randomUUID();
    const ids = await Promise.all(Array.from({ length: 10 }, () => placeOrder(subgraph, userId, [productId], { idempotencyKey: "race" })));
    expect(new Set(ids).size).toBe(1);
    const conn = subgraph.runtime.orm.em.getConnection();
    const [{ n }] = await conn.execute<{ n: string }[]>(`select count(*) as n from orders where user_id = ?`, [userId]);
    expect(Number(n)).toBe(1);
    const [{ events }] = await conn.execute<{ events: string }[]>(
      `select count(*) as events from outbox where type = 'order.placed' and correlation_id = ?`,
      [ids[0]],
    );
    expect(Number(events)).toBe(1);
  });
});
