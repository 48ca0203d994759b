/**
 * Entity resolution is batched everywhere: a federated query over 50 orders
 * costs each subgraph as many SQL statements as the same query over 5.
 */
import { type Platform, type ServiceName } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

let platform: Platform;
let customer: Account;

beforeAll(async () => {
  let admin: Account;
  ({ platform, admin } = await startPlatformWithAdmin());
  customer = await signUp(platform.gatewayUrl);
  const products = [
    await createProduct(admin, { price: 100, stock: 500, name: "Batch A" }),
    await createProduct(admin, { price: 150, stock: 500, name: "Batch B" }),
  ];
  const ids: string[] = [];
  for (let wave = 0; wave < 5; wave += 1) {
    const placed = await Promise.all(
      Array.from({ length: 10 }, () =>
        placeOrder(
          customer,
          products.map((productId) => ({ productId, quantity: 1 })),
        ),
      ),
    );
    ids.push(...placed.map((order) => order.id));
  }
  // Let every saga finish, so payments, invoices and notifications exist to be resolved.
  await eventually(
    "50 confirmed and notified orders",
    async () => {
      const { orders } = await customer.client.request<{ orders: { edges: { node: { status: string; notifications: unknown[] } }[] } }>(
        `{ orders(first: 50) { edges { node { status notifications { status } } } } }`,
      );
      return orders.edges.length === 50 && orders.edges.every(({ node }) => node.status === "CONFIRMED" && node.notifications.length > 0);
    },
    60_000,
  );
}, 180_000);
afterAll(() => platform?.stop());

const QUERY = (name: string) => `query ${name}($first: Int!) {
  orders(first: $first) { edges { node {
    id status
    items { quantity product { name available } }
    user { email }
    payment { status invoice { number } }
    notifications { status }
  } } }
}`;

async function statementsBySubgraph(operation: string): Promise<Record<ServiceName, number>> {
  const result = {} as Record<ServiceName, number>;
  for (const [service, url] of Object.entries(platform.urls) as [ServiceName, string][]) {
    const text = await (await fetch(url.replace(/\/graphql$/, "/metrics"))).text();
    // The gateway names each subgraph fetch `<operation>__<subgraph>__<n>`.
    const pattern = new RegExp(`^graphql_operation_db_statements_total\\{[^}]*operation="${operation}__[^"]*"[^}]*\\} (\\d+)`, "gm");
    result[service] = [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
  }
  return result;
}

it("runs as many SQL statements per subgraph for 50 orders as for 5", async () => {
  for (const [name, first] of [
    ["Five", 5],
    ["Fifty", 50],
  ] as const) {
    const { orders } = await customer.client.request<{
      orders: { edges: { node: { payment: { invoice: { number: string } } | null; notifications: unknown[]; items: unknown[] } }[] };
    }>(QUERY(name), { first });
    expect(orders.edges).toHaveLength(first);
    expect(orders.edges.every(({ node }) => node.payment?.invoice?.number && node.items.length === 2 && node.notifications.length > 0)).toBe(true);
  }
  const five = await statementsBySubgraph("Five");
  const fifty = await statementsBySubgraph("Fifty");
  expect(fifty).toEqual(five);
  // Every subgraph that owns part of the answer was asked and did run SQL.
  for (const service of ["order", "product", "user", "payment", "notification"] as ServiceName[]) expect(five[service]).toBeGreaterThan(0);
}, 60_000);
