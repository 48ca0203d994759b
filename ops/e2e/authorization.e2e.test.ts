/**
 * Walks the authorization table (authorization.table.ts, shown in
 * docs/AUTHORIZATION.md) through the gateway only: every operation and
 * federated field, for an anonymous caller, a customer on their own and on
 * someone else's data, STAFF and ADMIN, asserting the exact error code or the
 * presence (or absence) of data.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startPlatform, type Platform } from "@commerce/testing";
import { ADMIN, createProduct, login, placeOrder, resetE2eState, signUp, waitForStatus, type Account } from "@commerce/testing/e2e";
import { GraphQLClient } from "@commerce/testing/e2e";
import { callSubgraph } from "@commerce/testing/subgraph";
import type { Identity, Role } from "@commerce/kit";
import { COLUMNS, SUBGRAPHS, TABLE, type Column, type Fixtures, type Outcome, type Row, type Subgraph, type Target } from "./authorization.table";

type Answer = { data?: Record<string, any> | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] };

let platform: Platform;
let customer: Account;
let otherCustomer: Account;
let staff: Account;
let fx: Fixtures;

// The table signs in and registers far more often than a person would.
const GENEROUS_LIMITS = { RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_IP_PER_MINUTE: "100000", AUTH_RATE_LIMIT_PER_MINUTE: "100000" };

beforeAll(async () => {
  resetE2eState();
  platform = await startPlatform({ env: GENEROUS_LIMITS });
  const url = platform.gatewayUrl;
  const admin = await login(url, ADMIN.email, ADMIN.password);
  [customer, otherCustomer, staff] = await Promise.all([signUp(url), signUp(url), signUp(url, admin, "STAFF")]);
  const productId = await createProduct(admin, { price: 100, stock: 10_000, name: "Authorization table mug" });
  const deletedProductId = await createProduct(admin, { price: 100, stock: 0, name: "Deleted mug" });
  await admin.client.request(`mutation($id: ID!) { deleteProduct(id: $id) }`, { id: deletedProductId });
  const { warehouses } = await admin.client.request<{ warehouses: { id: string }[] }>(`{ warehouses { id } }`);

  const pendingOrder = async (owner: Account) => (await placeOrder(owner, [{ productId, quantity: 1 }])).id;
  const confirmedOrder = async (owner: Account) => {
    const id = await pendingOrder(owner);
    await waitForStatus(owner, id, ["CONFIRMED"]);
    return id;
  };
  const shippedOrder = async (owner: Account) => {
    const id = await confirmedOrder(owner);
    await admin.client.request(`mutation($id: ID!) { shipOrder(id: $id) { id } }`, { id });
    return id;
  };
  const requestedReturn = async (owner: Account) => {
    const orderId = await shippedOrder(owner);
    const { requestReturn } = await owner.client.request<{ requestReturn: { id: string } }>(
      `mutation($id: ID!, $p: ID!) { requestReturn(input: { orderId: $id, lines: [{ productId: $p, quantity: 1 }], reason: "fixture" }) { id } }`,
      { id: orderId, p: productId },
    );
    return requestReturn.id;
  };
  const [ownOrder, othersOrder] = await Promise.all([confirmedOrder(customer), confirmedOrder(otherCustomer)]);
  const orders = new Map([
    [customer.id, ownOrder],
    [otherCustomer.id, othersOrder],
  ]);
  const paymentIdOf = async (id: string) =>
    (await admin.client.request<{ order: { payment: { id: string } } }>(`query($id: ID!) { order(id: $id) { payment { id } } }`, { id })).order
      .payment.id;
  const payments = new Map([
    [customer.id, await paymentIdOf(ownOrder)],
    [otherCustomer.id, await paymentIdOf(othersOrder)],
  ]);
  fx = {
    admin,
    productId,
    deletedProductId,
    warehouseId: warehouses[0].id,
    orderOf: (owner) => orders.get(owner.id)!,
    paymentOf: (owner) => payments.get(owner.id)!,
    pendingOrder,
    confirmedOrder,
    shippedOrder,
    requestedReturn,
    async approvedReturn(owner) {
      const id = await requestedReturn(owner);
      await admin.client.request(`mutation($id: ID!) { approveReturn(id: $id) { id } }`, { id });
      return id;
    },
    async refreshToken() {
      const { register } = await new GraphQLClient(url).request<{ register: { refreshToken: string } }>(
        `mutation($input: RegisterInput!) { register(input: $input) { refreshToken } }`,
        {
          input: {
            email: `refresh-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`,
            password: "authz-password-123",
            name: "Refresh",
          },
        },
      );
      return register.refreshToken;
    },
  };
}, 150_000);
afterAll(() => platform?.stop());

function targetOf(column: Column): Target {
  const caller = { anonymous: null, own: customer, other: customer, staff, admin: fx.admin }[column];
  const owner = column === "anonymous" || column === "own" ? customer : otherCustomer;
  return { column, caller, owner, fx };
}

/** One answer of a subscription (its first event, or the error it was refused with). */
function subscribeOnce(token: string | null, query: string, variables: Record<string, unknown>): Promise<Answer> {
  const client = createClient({
    url: platform.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  return new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the subscription neither answered nor failed within 15 s")), 15_000);
    const settle = (answer: Answer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    client.subscribe(
      { query, variables },
      {
        next: (result) => settle(result as Answer),
        error: (error) =>
          settle({
            errors: Array.isArray(error)
              ? error
              : [
                  {
                    message: String((error as { reason?: string }).reason ?? error),
                    extensions: { code: `CLOSED_${(error as { code?: number }).code}` },
                  },
                ],
          }),
        complete: () => settle({ data: null }),
      },
    );
  }).finally(() => client.dispose());
}

const ROLES: Record<Column, Role | null> = { anonymous: null, own: "CUSTOMER", other: "CUSTOMER", staff: "STAFF", admin: "ADMIN" };

/** The caller as the gateway would sign it for a subgraph. */
const identityOf = (target: Target): Identity | null =>
  target.caller ? { kind: "user", userId: target.caller.id, role: ROLES[target.column]!, email: target.caller.email } : null;

/**
 * Calls `row` as `column` (through the gateway, or straight to `subgraph` signed as the gateway signs)
 * and classifies the answer. Data next to an error is reported as a leak.
 */
async function outcomeOf(row: Row, column: Column, subgraph?: Subgraph): Promise<{ outcome: string; value: unknown; target: Target }> {
  const target = targetOf(column);
  const variables = (await row.variables?.(target)) ?? {};
  const token = target.caller?.token ?? null;
  const answer: Answer = subgraph
    ? await callSubgraph({
        url: platform.urls[subgraph],
        subgraph,
        secret: platform.env.INTERNAL_SECRET,
        as: identityOf(target),
        query: row.query,
        variables,
      })
    : row.subscription
      ? await subscribeOnce(token, row.query, variables)
      : await new GraphQLClient(platform.gatewayUrl, token).raw(row.query, variables);
  const value = answer.data ? row.pick(answer.data) : null;
  const present = value !== null && value !== undefined;
  if (answer.errors?.length) {
    const codes = [...new Set(answer.errors.map((error) => String(error.extensions?.code)))].join("+");
    return { outcome: present ? `data+${codes}` : codes, value, target };
  }
  return { outcome: present ? "data" : "null", value, target };
}

describe("the authorization table", () => {
  it("is the one docs/AUTHORIZATION.md shows", () => {
    const doc = readFileSync(path.join(__dirname, "../../docs/AUTHORIZATION.md"), "utf8");
    const documented = new Map<string, Record<string, string>>();
    for (const line of doc.split("\n")) {
      const cells = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
      if (!cells) continue;
      const outcomes = cells[2].split("|").map((cell) => cell.trim());
      if (outcomes.length !== COLUMNS.length) continue;
      documented.set(cells[1], Object.fromEntries(COLUMNS.map((column, index) => [column, outcomes[index]])));
    }
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(TABLE.map((row) => [row.name, row.expect])));
  });

  it("applies a role change at once, not when the caller's access token expires", async () => {
    const url = platform.gatewayUrl;
    const promoted = await signUp(url, fx.admin, "STAFF");
    const setRole = (role: string) =>
      fx.admin.client.request(`mutation($id: ID!, $r: Role!) { setUserRole(userId: $id, role: $r) { id } }`, { id: promoted.id, r: role });
    const warehouses = async () =>
      (await promoted.client.raw<{ warehouses: unknown[] }>(`{ warehouses { id } }`)).errors?.[0]?.extensions?.code ?? "data";
    expect(await warehouses()).toBe("data");
    await setRole("CUSTOMER");
    // the same STAFF token, issued before the demotion
    expect(await warehouses()).toBe("FORBIDDEN");
    await setRole("STAFF");
    expect(await warehouses()).toBe("data");
  });

  it.each(TABLE.filter((row) => !row.directOnly).map((row) => [row.name, row] as const))("%s", async (_name, row) => {
    const results = await Promise.all(COLUMNS.map((column) => outcomeOf(row, column)));
    const actual = Object.fromEntries(COLUMNS.map((column, index) => [column, results[index].outcome]));
    expect(actual).toEqual(row.expect as Record<Column, Outcome>);
    for (const { outcome, value, target } of results) if (outcome === "data") row.verify?.(value, target);
  });

  it("sends a query straight to every subgraph, `_entities` included", () => {
    const reached = new Set(TABLE.filter((row) => row.directOnly).map((row) => row.direct));
    expect([...reached].sort()).toEqual([...SUBGRAPHS].sort());
  });

  it.each(TABLE.filter((row) => row.direct).map((row) => [row.direct!, row.name, row] as const))(
    "straight to %s: %s",
    async (subgraph, _name, row) => {
      const results = await Promise.all(COLUMNS.map((column) => outcomeOf(row, column, subgraph)));
      const actual = Object.fromEntries(COLUMNS.map((column, index) => [column, results[index].outcome]));
      expect(actual).toEqual(row.expect as Record<Column, Outcome>);
      for (const { outcome, value, target } of results) if (outcome === "data") row.verify?.(value, target);
    },
  );
});
