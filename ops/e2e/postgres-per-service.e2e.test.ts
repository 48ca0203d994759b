/**
 * The saga with the five databases on two Postgres servers: order and payment on a server of their own,
 * user, product and notification on the shared one. Each server hosts the relays of its databases;
 * the tools read both, as `DATABASE_URL_<SERVICE>` tells them.
 */
import { Client } from "pg";
import { reconcile } from "../commands/reconcile";
import { resolveTargets } from "../commands/targets";
import { SERVICES, startPlatform, startTestPostgres, type PgServer, type Platform } from "@commerce/testing";
import { ADMIN, createProduct, eventually, login, placeOrder, resetE2eState, signUp, waitForStatus, type Account } from "@commerce/testing/e2e";

const APART = ["order", "payment"] as const;

let second: PgServer;
let platform: Platform;
let admin: Account;

beforeAll(async () => {
  resetE2eState();
  second = await startTestPostgres();
  platform = await startPlatform({ databaseServers: Object.fromEntries(APART.map((svc) => [svc, second.adminUrl])) });
  admin = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
}, 150_000);
afterAll(async () => {
  await platform?.stop();
  await second?.stop();
});

async function one<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows[0] as T;
  } finally {
    await client.end();
  }
}

const available = async (productId: string) =>
  (await admin.client.request<{ product: { available: number } }>(`query($id: ID!) { product(id: $id) { available } }`, { id: productId })).product
    .available;

describe("Postgres per service: the saga over two servers", () => {
  it("confirms orders and compensates a failed one across servers; reconcile over both is clean", async () => {
    const ports = Object.fromEntries(
      await Promise.all(
        SERVICES.map(async (svc) => [
          svc,
          Number((await one<{ port: string }>(platform.databases[svc].url, "select current_setting('port') as port")).port),
        ]),
      ),
    );
    const shared = Number(new URL(process.env.TEST_PG_ADMIN_URL!).port);
    expect(ports).toEqual({ user: shared, product: shared, order: second.port, payment: second.port, notification: shared });

    const customer = await signUp(platform.gatewayUrl);
    const lamp = await createProduct(admin, { price: 2_500, stock: 10, name: "Split lamp" });
    const yacht = await createProduct(admin, { price: 90_000, stock: 5, name: "Split yacht" });
    const placed = await Promise.all([
      placeOrder(customer, [{ productId: lamp, quantity: 2 }]),
      placeOrder(customer, [{ productId: lamp, quantity: 1 }]),
      placeOrder(customer, [{ productId: yacht, quantity: 2 }]),
    ]);
    await Promise.all(placed.slice(0, 2).map((order) => waitForStatus(customer, order.id, ["CONFIRMED"])));
    const failed = await waitForStatus(customer, placed[2].id, ["PAYMENT_FAILED"]);
    expect(failed.failureReason).toMatch(/insufficient/i);
    await eventually("the yacht's reservation to be released", async () => (await available(yacht)) === 5);
    expect(await available(lamp)).toBe(7);
    const { me } = await customer.client.request<{ me: { wallet: { balance: { amount: number } } } }>(`{ me { wallet { balance { amount } } } }`);
    expect(me.wallet.balance.amount).toBe(100_000 - 3 * 2_500);

    // each server's relays stream from their own slots
    for (const svc of APART) {
      const slot = await one<{ active: boolean } | undefined>(second.adminUrl, "select active from pg_replication_slots where database = $1", [
        platform.databases[svc].database,
      ]);
      expect(slot).toEqual({ active: true });
    }

    const env = Object.fromEntries(SERVICES.map((svc) => [`DATABASE_URL_${svc.toUpperCase()}`, platform.databases[svc].url]));
    const { databases } = resolveTargets({ ...env, REDIS_URL: platform.env.REDIS_URL });
    expect(await reconcile(databases, { graceMs: 0 })).toEqual([]);
  });
});
