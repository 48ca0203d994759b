/**
 * The gateway on a real Redis Cluster: two replicas share one rate limit and one catalog cache, as
 * they do on one Redis (rate-limit.int.test.ts covers the rules themselves).
 */
import { catalogVersionKey } from "@commerce/kit";
import { createRedis, dataNodes, type RedisClient } from "@commerce/streams";
import { eventually, startTestRedisCluster, type RedisClusterServer } from "@commerce/testing";
import type { RunningGateway } from "./server";
import { accessToken, clientIp, post, startBench, type Bench } from "./testing/harness";

let cluster: RedisClusterServer;
let redis: RedisClient;
let bench: Bench;
let gateways: [RunningGateway, RunningGateway];
let prefix: string;

beforeAll(async () => {
  [cluster, bench] = await Promise.all([startTestRedisCluster(), startBench()]);
  redis = createRedis(cluster.url);
  const env = { REDIS_URL: cluster.url, RATE_LIMIT_PER_MINUTE: "4", RATE_LIMIT_IP_PER_MINUTE: "8" };
  gateways = [await bench.gateway(env), await bench.gateway(env)];
  prefix = bench.env().STREAM_PREFIX!;
}, 90_000);
afterAll(async () => {
  await bench?.stop();
  redis?.disconnect();
  await cluster?.stop();
});

/** How many keys matching `pattern` each master holds. */
async function keysPerMaster(pattern: string): Promise<number[]> {
  return Promise.all(
    dataNodes(redis).map(async (node) => {
      let count = 0;
      const stream = node.scanStream({ match: pattern, count: 200 });
      for await (const keys of stream) count += (keys as string[]).length;
      return count;
    }),
  );
}

const WIDGETS = "{ widgets { totalCount } }";

it("holds one limit per client across two replicas, the limits of many clients spread over the masters", async () => {
  const token = accessToken({ sub: `user-${Date.now()}` });
  const asUser = (gateway: RunningGateway) =>
    post(gateway.url, { query: WIDGETS }, { authorization: `Bearer ${token}`, "x-forwarded-for": clientIp() });
  for (let i = 0; i < 4; i += 1) expect((await asUser(gateways[i % 2])).status).toBe(200);
  for (const gateway of gateways) expect((await asUser(gateway)).body.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");

  const ip = clientIp();
  const statuses: number[] = [];
  for (let i = 0; i < 9; i += 1) statuses.push((await post(gateways[i % 2].url, { query: WIDGETS }, { "x-forwarded-for": ip })).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);

  // Each bucket's windows share a slot (its script reads two of them); different buckets do not.
  for (let i = 0; i < 30; i += 1) expect((await post(gateways[i % 2].url, { query: WIDGETS }, { "x-forwarded-for": clientIp() })).status).toBe(200);
  const perMaster = await keysPerMaster(`${prefix}:ratelimit:*`);
  expect(perMaster).toHaveLength(3);
  expect(perMaster.every((count) => count > 0)).toBe(true);
});

it("keeps counting a client through a fail-over of its bucket's master, failing no check open", async () => {
  const userId = `user-${Date.now()}`;
  const token = accessToken({ sub: userId });
  const asUser = (gateway: RunningGateway) =>
    post(gateway.url, { query: WIDGETS }, { authorization: `Bearer ${token}`, "x-forwarded-for": clientIp() });
  expect((await asUser(gateways[0])).status).toBe(200);
  expect((await asUser(gateways[1])).status).toBe(200);
  await cluster.failover(await cluster.masterOf(`{user:${userId}}`));
  expect((await asUser(gateways[0])).status).toBe(200);
  expect((await asUser(gateways[1])).status).toBe(200);
  expect((await asUser(gateways[0])).status).toBe(429);
  for (const gateway of gateways) {
    const metrics = await (await fetch(gateway.url.replace("/graphql", "/metrics"))).text();
    expect(metrics).toMatch(/^gateway_rate_limiter_errors_total\{service="gateway"\} 0$/m);
  }
}, 60_000);

it("shares catalog answers between replicas and drops them all when the catalog version moves", async () => {
  const shelf = async (gateway: RunningGateway) => {
    const result = await post(gateway.url, { query: "{ shelf }" });
    expect(result.body.errors).toBeUndefined();
    return { items: (result.body.data as { shelf: string[] }).shelf, cached: result.headers.has("age") };
  };
  // Apollo stores an entry after answering: wait for it before reading it.
  const stored = (count: number) =>
    eventually(`${count} catalog entries`, async () => (await keysPerMaster(`${prefix}:catalog:fqc:*`)).reduce((a, b) => a + b) === count);
  bench.stockShelf(["mug"]);
  expect(await shelf(gateways[0])).toEqual({ items: ["mug"], cached: false });
  await stored(1);
  expect(await shelf(gateways[1])).toEqual({ items: ["mug"], cached: true });

  bench.stockShelf(["mug", "teapot"]);
  expect(await shelf(gateways[0])).toEqual({ items: ["mug"], cached: true });
  await redis.incr(catalogVersionKey(prefix));
  expect(await shelf(gateways[1])).toEqual({ items: ["mug", "teapot"], cached: false });
  await stored(2);
  expect(await shelf(gateways[0])).toEqual({ items: ["mug", "teapot"], cached: true });
  // A signed-in caller is never answered from an entry.
  bench.stockShelf(["kettle"]);
  const signedIn = await post(gateways[0].url, { query: "{ shelf }" }, { authorization: `Bearer ${accessToken({ sub: "shelf-reader" })}` });
  expect(signedIn.body.data).toEqual({ shelf: ["kettle"] });
});
