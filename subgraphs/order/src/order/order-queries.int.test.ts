import { randomUUID } from "node:crypto";
import { asUser, deliver, event, placeOrder, seedProduct, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
let productId: string;
beforeAll(async () => {
  // No expiry sweeps during the statement counts below.
  subgraph = await startOrderSubgraph({ SAGA_EXPIRY_SWEEP_MS: "3600000" });
  productId = await seedProduct(subgraph, { amount: 250 });
});
afterAll(() => subgraph?.stop());

type Page = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: { id: string; name: string | null; status: string } }[];
};
const ORDERS = `query($filter: OrderFilter, $first: Int, $after: String) {
  orders(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status } } }
}`;
const listAs = (as: ReturnType<typeof asUser> | null, variables: Record<string, unknown> = {}) =>
  subgraph.gql<{ orders: Page }>(ORDERS, variables, as);

describe("order(id)", () => {
  test("owner, STAFF and ADMIN read it; another customer is FORBIDDEN; unknown is null", async () => {
    const owner = randomUUID();
    const id = await placeOrder(subgraph, owner, [productId]);
    const query = `query($id: ID!) { order(id: $id) { id } }`;
    for (const as of [asUser(owner), asUser(randomUUID(), "STAFF"), asUser(randomUUID(), "ADMIN")]) {
      expect((await subgraph.gql<{ order: { id: string } }>(query, { id }, as)).data?.order?.id).toBe(id);
    }
    expect((await subgraph.gql(query, { id }, asUser(randomUUID()))).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await subgraph.gql(query, { id }, null)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await subgraph.gql<{ order: null }>(query, { id: randomUUID() }, asUser(owner))).data?.order).toBeNull();
    expect((await subgraph.gql<{ order: null }>(query, { id: "not-a-uuid" }, asUser(owner))).data?.order).toBeNull();
  });

  test("a UUID in upper case names the same order, for reads as for changes", async () => {
    const owner = randomUUID();
    const id = await placeOrder(subgraph, owner, [productId.toUpperCase()]);
    const read = await subgraph.gql<{ order: { id: string } | null }>(
      `query($id: ID!) { order(id: $id) { id } }`,
      { id: id.toUpperCase() },
      asUser(owner),
    );
    expect(read.data?.order?.id).toBe(id);
    const cancelled = await subgraph.gql<{ cancelOrder: { id: string; status: string } }>(
      `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`,
      { id: id.toUpperCase() },
      asUser(owner),
    );
    expect(cancelled.data?.cancelOrder).toEqual({ id, status: "CANCELLED" });
  });
});

describe("statusHistory", () => {
  test("ends at the order's own status when a later change is written between the two reads", async () => {
    const owner = randomUUID();
    const id = await placeOrder(subgraph, owner, [productId]);
    // What a reader meets when the saga's next step commits after the order row was read and before its
    // history is: a change in the history that the row's status does not have yet.
    await subgraph.runtime.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into order_status_changes (order_id, status, previous_status, at, reason) values (?, 'STOCK_RESERVED', 'PENDING', now(), 'stock held')`,
        [id],
      );
    const query = `query($id: ID!) { order(id: $id) { status statusHistory { status } } }`;
    const order = (await subgraph.gql<{ order: { status: string; statusHistory: { status: string }[] } }>(query, { id }, asUser(owner))).data!.order;
    expect(order.status).toBe("PENDING");
    expect(order.statusHistory.map((change) => change.status)).toEqual(["PENDING"]);
    const listed = await listAs(asUser(owner), { first: 1 });
    expect(listed.data!.orders.edges[0]!.node).toMatchObject({ id, status: "PENDING" });
    // Once the row has the change too, it shows.
    await subgraph.runtime.orm.em.fork().getConnection().execute(`update orders set status = 'STOCK_RESERVED' where id = ?`, [id]);
    const moved = (await subgraph.gql<{ order: { status: string; statusHistory: { status: string }[] } }>(query, { id }, asUser(owner))).data!.order;
    expect(moved.statusHistory.map((change) => change.status)).toEqual(["PENDING", "STOCK_RESERVED"]);
  });
});

describe("orders", () => {
  const alice = randomUUID();
  const bob = randomUUID();
  const aliceIds: string[] = [];

  beforeAll(async () => {
    for (const name of ["Garden tools", "Kitchen knives", "garden hose", "Books 100%", "Books"]) {
      aliceIds.push(await placeOrder(subgraph, alice, [productId], { name }));
    }
    await placeOrder(subgraph, bob, [productId], { name: "Bob's garden" });
    await deliver(
      subgraph,
      event(
        "inventory.reserved",
        { orderId: aliceIds[1], userId: alice, total: { amount: 250, currency: "USD" }, items: [{ productId, quantity: 1 }] },
        aliceIds[1],
      ),
    );
  });

  test("a customer sees only their own orders, newest first, paged by cursor with totalCount", async () => {
    const first = await listAs(asUser(alice), { first: 2 });
    expect(first.data!.orders.totalCount).toBe(5);
    expect(first.data!.orders.edges.map((e) => e.node.id)).toEqual([aliceIds[4], aliceIds[3]]);
    expect(first.data!.orders.pageInfo.hasNextPage).toBe(true);
    const rest = await listAs(asUser(alice), { first: 10, after: first.data!.orders.pageInfo.endCursor });
    expect(rest.data!.orders.edges.map((e) => e.node.id)).toEqual([aliceIds[2], aliceIds[1], aliceIds[0]]);
    expect(rest.data!.orders.pageInfo).toMatchObject({ hasNextPage: false });
  });

  test("STAFF sees everyone's; filters by status and by a case-insensitive name search", async () => {
    const staff = asUser(randomUUID(), "STAFF");
    const garden = await listAs(staff, { filter: { search: "GARDEN" }, first: 100 });
    const names = garden.data!.orders.edges.map((e) => e.node.name).filter((name) => /garden/i.test(name ?? ""));
    expect(names.sort()).toEqual(["Bob's garden", "Garden tools", "garden hose"]);
    const aliceGarden = await listAs(asUser(alice), { filter: { search: "garden" } });
    expect(aliceGarden.data!.orders.totalCount).toBe(2);
    // LIKE wildcards in the search are literal characters.
    const percent = await listAs(asUser(alice), { filter: { search: "100%" } });
    expect(percent.data!.orders.edges.map((e) => e.node.name)).toEqual(["Books 100%"]);
    const reserved = await listAs(asUser(alice), { filter: { status: "STOCK_RESERVED" } });
    expect(reserved.data!.orders.edges.map((e) => e.node.id)).toEqual([aliceIds[1]]);
  });

  test("STAFF filters by customer and by placement time; a customer may name only themselves", async () => {
    const staff = asUser(randomUUID(), "STAFF");
    const ofAlice = await listAs(staff, { filter: { userId: alice }, first: 100 });
    expect(ofAlice.data!.orders.totalCount).toBe(5);
    expect(ofAlice.data!.orders.edges.map((e) => e.node.id)).toEqual([...aliceIds].reverse());
    const [placedAt] = await subgraph.runtime.orm.em
      .fork()
      .getConnection()
      .execute<{ created_at: string | Date }[]>(`select created_at from orders where id = ?`, [aliceIds[2]]);
    const from = new Date(placedAt.created_at).toISOString();
    const later = await listAs(staff, { filter: { userId: alice, createdFrom: from }, first: 100 });
    expect(later.data!.orders.edges.map((e) => e.node.id)).toEqual([aliceIds[4], aliceIds[3], aliceIds[2]]);
    const earlier = await listAs(staff, { filter: { userId: alice, createdTo: from }, first: 100 });
    expect(earlier.data!.orders.edges.map((e) => e.node.id)).toEqual([aliceIds[1], aliceIds[0]]);
    expect((await listAs(asUser(alice), { filter: { userId: alice } })).data!.orders.totalCount).toBe(5);
    expect((await listAs(asUser(alice), { filter: { userId: bob } })).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await listAs(staff, { filter: { userId: "nobody" } })).errors?.[0].extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "filter.userId",
    });
    const backwards = await listAs(staff, { filter: { createdFrom: "2026-02-01T00:00:00Z", createdTo: "2026-01-01T00:00:00Z" } });
    expect(backwards.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.createdFrom" });
  });

  test("first above 100 is BAD_USER_INPUT naming first; a bad cursor names after; anonymous is UNAUTHENTICATED", async () => {
    expect((await listAs(asUser(alice), { first: 101 })).errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    expect((await listAs(asUser(alice), { after: "garbage" })).errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    expect((await listAs(null)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  test("a search above 200 characters is BAD_USER_INPUT naming filter.search, as products refuses it", async () => {
    for (const length of [201, 5000]) {
      const result = await listAs(asUser(alice), { filter: { search: "x".repeat(length) } });
      expect(result.errors).toHaveLength(1);
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "filter.search" });
      expect(result.errors?.[0].message).toMatch(/^filter\.search: /);
    }
    const longest = await listAs(asUser(alice), { filter: { search: "x".repeat(200) } });
    expect(longest.errors).toBeUndefined();
    expect(longest.data!.orders.totalCount).toBe(0);
  });

  test("the name search is served by the trigram index", async () => {
    const conn = subgraph.runtime.orm.em.getConnection();
    await conn.execute(`analyze orders`);
    const plan = await conn.execute<Record<string, string>[]>(
      `begin; set local enable_seqscan = off; explain select * from orders where name ilike '%garden%'; commit;`,
    );
    // Postgres would pick a seq scan on a tiny table; with it discouraged, only an index can serve ILIKE '%…%'.
    expect(JSON.stringify(plan)).toContain("orders_name_trgm_index");
  });
});

describe("User.orders and Order references", () => {
  const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) {
    ... on User { id orders(first: 2) { totalCount edges { node { id } } } }
    ... on Order { id status user { id } }
  } }`;

  test("lists a user's orders batched across users; a customer may list only their own", async () => {
    const carol = randomUUID();
    const dave = randomUUID();
    const carols = [
      await placeOrder(subgraph, carol, [productId]),
      await placeOrder(subgraph, carol, [productId]),
      await placeOrder(subgraph, carol, [productId]),
    ];
    const daves = [await placeOrder(subgraph, dave, [productId])];
    const reps = [
      { __typename: "User", id: carol },
      { __typename: "User", id: dave },
      { __typename: "User", id: randomUUID() },
    ];
    const result = await subgraph.gql<{ _entities: { id: string; orders: { totalCount: number; edges: { node: { id: string } }[] } }[] }>(
      ENTITIES,
      { reps },
      asUser(randomUUID(), "ADMIN"),
    );
    expect(result.errors).toBeUndefined();
    const [c, d, nobody] = result.data!._entities;
    expect(c.orders.totalCount).toBe(3);
    expect(c.orders.edges.map((e) => e.node.id)).toEqual([carols[2], carols[1]]);
    expect(d.orders.edges.map((e) => e.node.id)).toEqual(daves);
    expect(nobody.orders.totalCount).toBe(0);

    const own = await subgraph.gql(ENTITIES, { reps: [{ __typename: "User", id: carol }] }, asUser(carol));
    expect(own.errors).toBeUndefined();
    const other = await subgraph.gql(ENTITIES, { reps: [{ __typename: "User", id: carol }] }, asUser(dave));
    expect(other.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });

  test("resolves Order references for the gateway", async () => {
    const userId = randomUUID();
    const id = await placeOrder(subgraph, userId, [productId]);
    const result = await subgraph.gql<{ _entities: unknown[] }>(
      ENTITIES,
      {
        reps: [
          { __typename: "Order", id },
          { __typename: "Order", id: id.toUpperCase() },
        ],
      },
      asUser(userId),
    );
    expect(result.data?._entities).toEqual([
      { id, status: "PENDING", user: { id: userId } },
      { id, status: "PENDING", user: { id: userId } }, // the same order, whatever the case of its id
    ]);
  });

  test("answers an Order reference only to its owner, STAFF, ADMIN and our services", async () => {
    const owner = randomUUID();
    const id = await placeOrder(subgraph, owner, [productId]);
    const outcome = async (as: Parameters<typeof subgraph.gql>[2]) => {
      const result = await subgraph.gql<{ _entities: unknown[] }>(ENTITIES, { reps: [{ __typename: "Order", id }] }, as);
      return result.errors?.[0].extensions?.code ?? (result.data?._entities[0] ? "data" : "null");
    };
    expect(await outcome(null)).toBe("UNAUTHENTICATED");
    expect(await outcome(asUser(randomUUID()))).toBe("FORBIDDEN");
    expect(await outcome(asUser(owner))).toBe("data");
    expect(await outcome(asUser(randomUUID(), "STAFF"))).toBe("data");
    expect(await outcome(asUser(randomUUID(), "ADMIN"))).toBe("data");
    expect(await outcome({ kind: "service", service: "payment" })).toBe("data");
  });
});

describe("batching", () => {
  const QUERY = `query($first: Int) { orders(first: $first) { edges { node {
    id total { amount } user { id } items { quantity unitPrice { amount } product { id } } statusHistory { status at reason }
  } } } }`;

  // runtime.metrics.dbQueries counts every statement of the process, and the outbox relay polls
  // every 250 ms, which made a count around one request flaky on a loaded machine. Listen to the
  // same knex "query" event the metric counts, keeping only statements on this subgraph's tables
  // (the relay's transactions, advisory locks and outbox reads are not the request's).
  async function statementsFor(first: number): Promise<number> {
    const knex = subgraph.runtime.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const listener = (query: { sql: string }) => {
      if (/"(orders|order_items|order_status_changes|catalog_products)"/.test(query.sql)) statements.push(query.sql);
    };
    knex.on("query", listener);
    try {
      const result = await subgraph.gql<{ orders: { edges: unknown[] } }>(QUERY, { first }, asUser(randomUUID(), "STAFF"));
      expect(result.errors).toBeUndefined();
      expect(result.data!.orders.edges).toHaveLength(first);
    } finally {
      knex.removeListener("query", listener);
    }
    return statements.length;
  }

  test("50 orders with items and history take as many SQL statements as 5", async () => {
    const userId = randomUUID();
    for (let i = 0; i < 50; i += 1) await placeOrder(subgraph, userId, [productId]);
    const five = await statementsFor(5);
    const fifty = await statementsFor(50);
    expect(fifty).toBe(five);
    expect(five).toBe(3); // orders, items, history (no count: totalCount is not asked for)
  });
});
