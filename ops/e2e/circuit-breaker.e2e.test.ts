/**
 * Circuit breakers with a killed subgraph: the gateway's fetches to it and the order service's calls
 * to the product catalog fail fast once its circuit opens (the client still gets the usual masked
 * error; the order service prices from its catalog replica), the state shows on /metrics, and the
 * circuits close again once the subgraph is back.
 */
import Redis from "ioredis";
import { catalogRevisionsKey, FAILURES_TO_OPEN } from "@commerce/kit";
import { testInfra, type ProcessName } from "@commerce/testing";
import { createProduct, eventually, placeOrder, signUp, type Account, usePlatformWithAdmin } from "@commerce/testing/e2e";

const e2e = usePlatformWithAdmin();

/** `circuit_breaker_state{target}` of a process: 0 closed, 1 open, 2 half-open; null before its first call. */
async function breakerState(process: ProcessName, target: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${e2e.platform.ports[process]}/metrics`)).text();
  const match = new RegExp(`^circuit_breaker_state\\{[^}]*target="${target}"[^}]*\\} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : null;
}

describe("a killed subgraph", () => {
  it("fails fast behind an open circuit, and is called again once it is back", async () => {
    const customer = await signUp(e2e.platform.gatewayUrl);
    const productId = await createProduct(e2e.admin, { price: 700, stock: 100, name: "Breaker Bulb" });
    // The order service learns the product (its catalog replica) before the outage.
    await placeOrder(customer, [{ productId, quantity: 1 }]);
    const catalog = () => customer.client.raw<{ products: { totalCount: number } }>(`{ products(first: 1) { totalCount } }`);
    expect((await catalog()).errors).toBeUndefined();
    expect(await breakerState("gateway", "product")).toBe(0);

    // A change the order service's replica has not applied yet (its catalog revision is ahead): placements ask the product subgraph.
    const redis = new Redis(testInfra().redisUrl);
    await redis.zadd(catalogRevisionsKey(e2e.platform.streamPrefix), Date.now() + 60_000, productId).finally(() => redis.disconnect());
    await e2e.platform.kill("product");
    try {
      for (let i = 0; i < FAILURES_TO_OPEN; i += 1) expect((await catalog()).errors?.[0].extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      expect(await breakerState("gateway", "product")).toBe(1);
      // Each call while open is refused by the breaker itself, without a connection attempt.
      const refusals = () => (e2e.platform.logs("gateway", 1000).match(/product is unavailable: its circuit breaker is open/g) ?? []).length;
      const before = refusals();
      for (let i = 0; i < 5; i += 1) {
        const answer = await catalog();
        expect(answer.errors?.[0].extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", errorId: expect.any(String) });
      }
      await eventually("five refusals by the open breaker in the gateway's log", () => refusals() - before >= 5);

      // The order service's catalog calls: orders still go through on the replica's price, and its circuit opens too.
      for (let i = 0; i < FAILURES_TO_OPEN; i += 1)
        expect(await placeOrder(customer, [{ productId, quantity: 1 }])).toMatchObject({ status: "PENDING", total: { amount: 700 } });
      expect(await breakerState("order", "product")).toBe(1);
      expect(await placeOrder(customer, [{ productId, quantity: 1 }])).toMatchObject({ status: "PENDING", total: { amount: 700 } });
      expect(await breakerState("order", "product")).toBe(1);
    } finally {
      await e2e.platform.start("product");
    }

    // Half-open after 2 s: the next call is tried, succeeds, and closes the circuit.
    await eventually(async () => !(await catalog()).errors, "the gateway to reach the product subgraph again");
    expect(await breakerState("gateway", "product")).toBe(0);
    await eventually(async () => {
      await placeOrder(customer, [{ productId, quantity: 1 }]);
      return (await breakerState("order", "product")) === 0;
    }, "the order service's circuit to the product subgraph to close");
  }, 90_000);
});
