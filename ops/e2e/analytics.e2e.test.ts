/**
 * Sales analytics through the gateway: after a mixed workload (paid, cancelled and refunded, out of
 * stock, payment failed, partly returned) the projection's report equals a recomputation from the
 * order, payment and product databases, for STAFF and ADMIN only; and a rebuild gives the same answer.
 */
import { Client } from "pg";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { rebuildAnalytics } from "@commerce/notification";
import { type Platform } from "@commerce/testing";
import { ADMIN, createProduct, eventually, placeOrder, signUp, waitForStatus, type Account, startPlatformWithAdmin } from "@commerce/testing/e2e";

/** The period `salesMetrics` pushes in this test (a minute in production). */
const PERIOD_MS = 2_000;

let platform: Platform;
let admin: Account;
let staff: Account;

beforeAll(async () => {
  ({ platform, admin } = await startPlatformWithAdmin({ env: { SALES_METRICS_INTERVAL_MS: String(PERIOD_MS) } }));
  staff = await signUp(platform.gatewayUrl, admin, "STAFF");
}, 150_000);
afterAll(() => platform?.stop());

interface Row {
  key: string;
  label: string;
  orders: number;
  units: number;
  revenue: { amount: number; currency: string };
  refunds: { amount: number; currency: string };
}
const REPORT = `query($from: DateTime!, $to: DateTime!, $g: SalesGrouping!) {
  salesReport(from: $from, to: $to, groupBy: $g) { key label orders units revenue { amount currency } refunds { amount currency } } }`;
const STATS = `query($from: DateTime!, $to: DateTime!) { orderStats(from: $from, to: $to) { byStatus { status count } confirmP50Ms confirmP95Ms } }`;

async function query<T>(service: "order" | "payment" | "product" | "notification", sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: platform.databases[service].url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The report by product, recomputed from the owning services' data (no refund in this workload is capped). */
async function recomputeByProduct(from: Date, to: Date) {
  const captured = await query<{ id: string; order_id: string; status: string; amount_minor: number; created_at: Date; refunded_at: Date | null }>(
    "payment",
    `select id, order_id, status, amount_minor, created_at, refunded_at from payments where status in ('CAPTURED', 'REFUNDED')`,
  );
  const items = await query<{ order_id: string; product_id: string; quantity: number; unit_price_amount: number }>(
    "order",
    `select order_id, product_id, quantity, unit_price_amount from order_items`,
  );
  const returns = await query<{ id: string; lines: { productId: string; quantity: number; unitPriceAmount: number }[] }>(
    "order",
    `select id, lines from return_requests where status = 'REFUNDED'`,
  );
  const returnRefunds = await query<{ return_id: string; amount_minor: number; created_at: Date }>(
    "payment",
    `select return_id, amount_minor, created_at from return_refunds`,
  );
  const products = await query<{ id: string; name: string; category_id: string | null; category: string | null }>(
    "product",
    `select p.id, p.name, p.category_id, c.name as category from products p left join categories c on c.id = p.category_id`,
  );
  const inRange = (at: Date) => at >= from && at < to;
  const rows = new Map<string, { orders: Set<string>; units: number; revenue: number; refunds: number }>();
  const row = (productId: string) => {
    if (!rows.has(productId)) rows.set(productId, { orders: new Set(), units: 0, revenue: 0, refunds: 0 });
    return rows.get(productId)!;
  };
  for (const payment of captured) {
    const lines = items.filter((item) => item.order_id === payment.order_id);
    expect(lines.reduce((sum, line) => sum + line.quantity * line.unit_price_amount, 0)).toBe(payment.amount_minor);
    for (const line of lines) {
      if (inRange(payment.created_at)) {
        row(line.product_id).orders.add(line.order_id);
        row(line.product_id).units += line.quantity;
        row(line.product_id).revenue += line.quantity * line.unit_price_amount;
      }
      if (payment.status === "REFUNDED" && inRange(payment.refunded_at!)) row(line.product_id).refunds += line.quantity * line.unit_price_amount;
    }
  }
  for (const refund of returnRefunds.filter((r) => r.amount_minor > 0 && inRange(r.created_at))) {
    const lines = returns.find((r) => r.id === refund.return_id)!.lines;
    expect(lines.reduce((sum, line) => sum + line.quantity * line.unitPriceAmount, 0)).toBe(refund.amount_minor);
    for (const line of lines) row(line.productId).refunds += line.quantity * line.unitPriceAmount;
  }
  return { rows, products };
}

describe("sales analytics through the gateway", () => {
  it("after a mixed workload the report equals a recomputation from the owning services, and a rebuild gives it again", async () => {
    const from = new Date(Date.now() - 60_000);
    const { createCategory } = await admin.client.request<{ createCategory: { id: string } }>(
      `mutation($name: String!) { createCategory(name: $name) { id } }`,
      { name: `Kitchen ${Date.now()}` },
    );
    const mug = await createProduct(admin, { price: 1_500, stock: 50, name: "Analytics mug" });
    await admin.client.request(`mutation($id: ID!, $c: ID!) { updateProduct(id: $id, input: { categoryId: $c }) { id } }`, {
      id: mug,
      c: createCategory.id,
    });
    const lamp = await createProduct(admin, { price: 4_000, stock: 50, name: "Analytics lamp" });
    const scarce = await createProduct(admin, { price: 999, stock: 1, name: "Analytics scarce" });
    const dear = await createProduct(admin, { price: 150_000, stock: 5, name: "Analytics dear" });
    const { createWarehouse } = await admin.client.request<{ createWarehouse: { id: string } }>(
      `mutation($code: String!) { createWarehouse(code: $code, name: "Analytics returns") { id } }`,
      { code: `AN-${Date.now() % 1_000_000}` },
    );

    const buyers = await Promise.all([0, 1, 2, 3].map(() => signUp(platform.gatewayUrl)));
    const paid = await placeOrder(buyers[0]!, [
      { productId: mug, quantity: 2 },
      { productId: lamp, quantity: 1 },
    ]);
    const cancelled = await placeOrder(buyers[1]!, [{ productId: mug, quantity: 1 }]);
    const outOfStock = await placeOrder(buyers[2]!, [{ productId: scarce, quantity: 5 }]);
    const unpaid = await placeOrder(buyers[2]!, [{ productId: dear, quantity: 1 }]);
    const returned = await placeOrder(buyers[3]!, [
      { productId: mug, quantity: 3 },
      { productId: lamp, quantity: 2 },
    ]);
    await waitForStatus(buyers[0]!, paid.id, ["CONFIRMED"]);
    await waitForStatus(buyers[1]!, cancelled.id, ["CONFIRMED"]);
    await buyers[1]!.client.request(`mutation($id: ID!) { cancelOrder(id: $id) { status } }`, { id: cancelled.id });
    await waitForStatus(buyers[2]!, outOfStock.id, ["OUT_OF_STOCK"]);
    await waitForStatus(buyers[2]!, unpaid.id, ["PAYMENT_FAILED"]);
    await waitForStatus(buyers[3]!, returned.id, ["CONFIRMED"]);
    await staff.client.request(`mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: returned.id });
    const { requestReturn } = await buyers[3]!.client.request<{ requestReturn: { id: string } }>(
      `mutation($input: RequestReturnInput!) { requestReturn(input: $input) { id } }`,
      {
        input: {
          orderId: returned.id,
          lines: [
            { productId: mug, quantity: 1 },
            { productId: lamp, quantity: 1 },
          ],
          reason: "too many",
        },
      },
    );
    await staff.client.request(`mutation($id: ID!) { approveReturn(id: $id) { status } }`, { id: requestReturn.id });
    await staff.client.request(`mutation($id: ID!, $w: ID!) { receiveReturn(id: $id, warehouseId: $w) { status } }`, {
      id: requestReturn.id,
      w: createWarehouse.id,
    });
    await eventually(
      async () =>
        (await query<{ status: string }>("order", `select status from return_requests where id = $1`, [requestReturn.id]))[0]?.status === "REFUNDED",
      "the return's refund",
    );
    await eventually(
      async () =>
        (await query<{ status: string }>("payment", `select status from payments where order_id = $1`, [cancelled.id]))[0]?.status === "REFUNDED",
      "the cancellation's refund",
    );
    const to = new Date(Date.now() + 60_000);

    const { rows: expected, products } = await recomputeByProduct(from, to);
    const expectedRows = [...expected].map(([productId, figures]) => ({
      key: productId,
      label: products.find((product) => product.id === productId)!.name,
      orders: figures.orders.size,
      units: figures.units,
      revenue: { amount: figures.revenue, currency: "USD" },
      refunds: { amount: figures.refunds, currency: "USD" },
    }));
    // 2 mugs + lamp, 1 mug (refunded), 3 mugs + 2 lamps (1 of each returned).
    expect(expectedRows.find((row) => row.key === mug)).toMatchObject({
      orders: 3,
      units: 6,
      revenue: { amount: 9_000 },
      refunds: { amount: 3_000 },
    });
    const report = async (groupBy: string, as: Account = staff) =>
      (await as.client.request<{ salesReport: Row[] }>(REPORT, { from: from.toISOString(), to: to.toISOString(), g: groupBy })).salesReport;
    const sorted = (rows: Row[]) => [...rows].sort((a, b) => a.key.localeCompare(b.key));

    // The projection catches up with the events; then it answers what the owners' data says.
    await eventually(
      async () => JSON.stringify(sorted(await report("PRODUCT"))) === JSON.stringify(sorted(expectedRows)),
      "the projection to catch up",
    );
    expect(sorted(await report("PRODUCT", admin))).toEqual(sorted(expectedRows));

    const total = (rows: Row[], pick: (row: Row) => number) => rows.reduce((sum, row) => sum + pick(row), 0);
    const byDay = await report("DAY");
    const byCategory = await report("CATEGORY");
    for (const rows of [byDay, byCategory]) {
      expect(total(rows, (row) => row.revenue.amount)).toBe(total(expectedRows, (row) => row.revenue.amount));
      expect(total(rows, (row) => row.refunds.amount)).toBe(total(expectedRows, (row) => row.refunds.amount));
      expect(total(rows, (row) => row.units)).toBe(total(expectedRows, (row) => row.units));
    }
    expect(total(byDay, (row) => row.orders)).toBe(3);
    expect(byDay.every((row) => /^\d{4}-\d{2}-\d{2}$/.test(row.key) && row.label === row.key)).toBe(true);
    const kitchen = byCategory.find((row) => row.key === createCategory.id)!;
    expect(kitchen).toMatchObject({
      label: expect.stringMatching(/^Kitchen/),
      orders: 3,
      units: 6,
      revenue: { amount: 9_000 },
      refunds: { amount: 3_000 },
    });
    expect(byCategory.find((row) => row.key === "none")).toMatchObject({
      label: "Uncategorised",
      orders: 2,
      units: 3,
      revenue: { amount: 12_000 },
      refunds: { amount: 4_000 },
    });

    // Order stats: counts by status now, and placement → CONFIRMED, as the order service recorded them.
    const stats = (
      await staff.client.request<{ orderStats: { byStatus: { status: string; count: number }[]; confirmP50Ms: number; confirmP95Ms: number } }>(
        STATS,
        {
          from: from.toISOString(),
          to: to.toISOString(),
        },
      )
    ).orderStats;
    const counts = await query<{ status: string; count: string }>(
      "order",
      `select status, count(*) from orders where created_at >= $1 and created_at < $2 group by status`,
      [from, to],
    );
    expect(stats.byStatus.filter((row) => row.count > 0).sort((a, b) => a.status.localeCompare(b.status))).toEqual(
      counts.map((row) => ({ status: row.status, count: Number(row.count) })).sort((a, b) => a.status.localeCompare(b.status)),
    );
    expect(stats.byStatus.find((row) => row.status === "SHIPPED")?.count).toBe(1);
    const [latency] = await query<{ p50: number; p95: number }>(
      "order",
      `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.95) within group (order by ms) as p95
         from (select extract(epoch from (c.at - p.at)) * 1000 as ms
                 from order_status_changes p join order_status_changes c on c.order_id = p.order_id and c.status = 'CONFIRMED'
                where p.previous_status is null and p.at >= $1 and p.at < $2) confirmed`,
      [from, to],
    );
    expect(stats.confirmP50Ms).toBeCloseTo(Number(latency!.p50), 3);
    expect(stats.confirmP95Ms).toBeCloseTo(Number(latency!.p95), 3);
    expect(stats.confirmP50Ms).toBeGreaterThan(0);

    // Rebuilt from the databases, it answers the same.
    await query("notification", `delete from analytics_money`);
    expect(await report("PRODUCT")).toEqual([]);
    const db = platform.databases;
    await rebuildAnalytics({ order: db.order.url, payment: db.payment.url, product: db.product.url, notification: db.notification.url });
    expect(sorted(await report("PRODUCT"))).toEqual(sorted(expectedRows));
  }, 120_000);

  it("is for STAFF and ADMIN only, over a sensible range", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };
    for (const [operation, variables] of [
      [REPORT, { ...range, g: "DAY" }],
      [STATS, range],
    ] as const) {
      expect((await customer.client.raw(operation, variables)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      const backwards = await staff.client.raw(operation, { ...variables, from: range.to, to: range.from });
      expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "to" });
      const tooLong = await staff.client.raw(operation, { ...variables, from: "2020-01-01T00:00:00Z" });
      expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "to" });
    }
  });

  it("pushes each ended period's figures live to STAFF, equal to salesReport over that period; a customer is FORBIDDEN", async () => {
    const customer = await signUp(platform.gatewayUrl);
    const productId = await createProduct(admin, { price: 1_234, stock: 5 });
    type Minute = { at: string; orders: number; revenue: { amount: number; currency: string }; refunds: { amount: number } };
    const watch = (token: string) => {
      const seen = { minutes: [] as Minute[], errors: [] as unknown[] };
      const client = createClient({
        url: platform.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      client.subscribe<{ salesMetrics: Minute }>(
        { query: `subscription { salesMetrics { at orders revenue { amount currency } refunds { amount } } }` },
        {
          next: (result) => {
            if (result.errors) seen.errors.push(result.errors);
            if (result.data) seen.minutes.push(result.data.salesMetrics);
          },
          error: (error) => void seen.errors.push(error),
          complete: () => undefined,
        },
      );
      return { seen, dispose: () => client.dispose() };
    };
    const staffWatch = watch(staff.token);
    const customerWatch = watch(customer.token);
    try {
      await eventually("the last ended period, sent at once", async () => staffWatch.seen.minutes.length >= 1, 10_000);
      await eventually("the customer refused", async () => customerWatch.seen.errors.length >= 1, 10_000);
      expect((customerWatch.seen.errors[0] as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(customerWatch.seen.minutes).toEqual([]);

      // Place the order in a period of its own: everything earlier in this file happened before it began.
      const boundary = Math.ceil((Date.now() + 1) / PERIOD_MS) * PERIOD_MS;
      await new Promise((resolve) => setTimeout(resolve, boundary - Date.now()));
      const { id } = await placeOrder(customer, [{ productId, quantity: 2 }]);
      await waitForStatus(customer, id, ["CONFIRMED"]);
      const confirmedAt = Date.now();
      await eventually(
        "a period begun after the confirmation pushed",
        async () => staffWatch.seen.minutes.some((m) => new Date(m.at).getTime() >= confirmedAt),
        15_000,
      );
      const since = staffWatch.seen.minutes.filter((m) => new Date(m.at).getTime() >= boundary);
      expect(since.reduce((sum, m) => sum + m.orders, 0)).toBe(1);
      expect(since.reduce((sum, m) => sum + m.revenue.amount, 0)).toBe(2_468);
      expect(since[0]!.revenue.currency).toBe("USD");
      const minutes = [...staffWatch.seen.minutes];
      for (const minute of minutes) {
        const to = new Date(new Date(minute.at).getTime() + PERIOD_MS).toISOString();
        const rows: Row[] = (await staff.client.request<{ salesReport: Row[] }>(REPORT, { from: minute.at, to, g: "DAY" })).salesReport;
        expect(minute.orders).toBe(rows.reduce((sum, row) => sum + row.orders, 0));
        expect(minute.revenue.amount).toBe(rows.reduce((sum, row) => sum + row.revenue.amount, 0));
        expect(minute.refunds.amount).toBe(rows.reduce((sum, row) => sum + row.refunds.amount, 0));
      }
      // Periods follow each other, each once.
      const starts = minutes.map((m) => new Date(m.at).getTime());
      expect(new Set(starts).size).toBe(starts.length);
      expect(starts.every((at, i) => i === 0 || at === starts[i - 1]! + PERIOD_MS)).toBe(true);
    } finally {
      staffWatch.dispose();
      customerWatch.dispose();
    }
  }, 60_000);
});
