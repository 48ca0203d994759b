import { randomUUID } from "node:crypto";
import { asUser, deliver, event, placeOrder, seedProduct, startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
let productId: string;
beforeAll(async () => {
  subgraph = await startOrderSubgraph();
  productId = await seedProduct(subgraph, { amount: 700 });
});
afterAll(() => subgraph?.stop());

const query = (ids: string[], name = "Timeline") =>
  `query ${name} { ${ids.map((id, i) => `o${i}: order(id: "${id}") { id timeline { at kind eventType eventId description } }`).join(" ")} }`;

interface Entry {
  at: string;
  kind: string;
  eventType: string | null;
  eventId: string | null;
  description: string;
}

/** A reserved order whose reservation event is marked processed, as the stream consumer would. */
async function reservedOrder() {
  const userId = randomUUID();
  const orderId = await placeOrder(subgraph, userId, [productId]);
  const reserved = event(
    "inventory.reserved",
    { orderId, userId, total: { amount: 700, currency: "USD" }, items: [{ productId, quantity: 1 }] },
    orderId,
  );
  await deliver(subgraph, reserved);
  await subgraph.runtime.orm.em.getConnection().execute(`insert into processed_event (event_id, consumer_group) values (?, 'order')`, [reserved.id]);
  return { userId, orderId, reservedId: reserved.id };
}

describe("Order.timeline", () => {
  test("ADMIN sees status changes, emitted events and applied events, oldest first", async () => {
    const { orderId, reservedId } = await reservedOrder();
    const result = await subgraph.gql<Record<string, { timeline: Entry[] }>>(query([orderId]), {}, asUser(randomUUID(), "ADMIN"));
    expect(result.errors).toBeUndefined();
    const timeline = result.data!.o0.timeline;
    const times = timeline.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(timeline.filter((e) => e.kind === "STATUS_CHANGED").map((e) => e.description)).toEqual([
      expect.stringContaining("∅ → PENDING"),
      expect.stringContaining("PENDING → STOCK_RESERVED"),
    ]);
    expect(timeline.filter((e) => e.kind === "EVENT_EMITTED").map((e) => e.eventType)).toEqual(
      expect.arrayContaining(["order.placed", "order.status_changed"]),
    );
    expect(timeline.filter((e) => e.kind === "EVENT_HANDLED")).toEqual([
      expect.objectContaining({ eventId: reservedId, description: "applied event → STOCK_RESERVED" }),
    ]);
  });

  test("customers and STAFF may not read it", async () => {
    const { orderId, userId } = await reservedOrder();
    for (const who of [asUser(userId), asUser(randomUUID(), "STAFF")]) {
      const result = await subgraph.gql(query([orderId]), {}, who);
      expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
  });

  test("timelines of many orders cost the same statements as one", async () => {
    const orders = await Promise.all([reservedOrder(), reservedOrder(), reservedOrder()]);
    const counted = async (ids: string[], name: string) => {
      const result = await subgraph.gql(query(ids, name), {}, asUser(randomUUID(), "ADMIN"));
      expect(result.errors).toBeUndefined();
      return statements(name);
    };
    const one = await counted([orders[0].orderId], "TimelineOfOne");
    const three = await counted(
      orders.map((o) => o.orderId),
      "TimelineOfThree",
    );
    expect(one).toBeGreaterThan(0);
    expect(three).toBe(one);
  });
});

/** SQL statements the requests named `operation` caused (the kit counts them per operation). */
async function statements(operation: string): Promise<number> {
  const metric = await subgraph.runtime.metrics.dbStatementsByOperation.get();
  return metric.values.filter((v) => v.labels.operation === operation).reduce((sum, v) => sum + v.value, 0);
}
