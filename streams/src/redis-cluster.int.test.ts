import { startTestRedisCluster, type RedisClusterServer } from "@commerce/testing";
import { Cluster } from "ioredis";
import { createRedis, dataNodes, hashTag, parseClusterUrl, redisUrlFromEnv, type RedisClient } from "./redis-client";

describe("createRedis on a real Redis Cluster", () => {
  let cluster: RedisClusterServer;
  let redis: RedisClient;

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    redis = createRedis(cluster.url, { maxRetriesPerRequest: null });
  }, 90_000);

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it("gives a cluster client for a redis+cluster:// URL and reaches all three masters", async () => {
    expect(redis).toBeInstanceOf(Cluster);
    for (let i = 0; i < 30; i += 1) await redis.set(`spread:${i}`, String(i));
    const counts = await Promise.all(dataNodes(redis).map((node) => node.dbsize()));
    expect(counts).toHaveLength(3);
    expect(counts.every((n) => n > 0)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
  });

  it("keeps keys with one hash tag in one slot, so a MULTI over them runs", async () => {
    const tag = hashTag("orders");
    const results = await redis.multi().set(`a:${tag}`, "1").set(`b:${tag}`, "2").exec();
    expect(results?.map(([error]) => error)).toEqual([null, null]);
    await expect(redis.multi().set("untagged:a", "1").set("untagged:zz", "2").exec()).rejects.toThrow(/CROSSSLOT|same slot/i);
  });

  it("serves every key again after a master fails over, with nothing lost", async () => {
    const [first] = await cluster.topology();
    const promoted = await cluster.failover(first!.master);
    expect((await cluster.topology()).map((g) => g.master)).toContain(promoted);
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => redis.get(`spread:${i}`)));
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  }, 60_000);

  it("elects a replica when a master is killed, and writes go on", async () => {
    const [group] = await cluster.topology();
    cluster.kill(group!.master);
    await cluster.waitHealthy(60_000);
    expect((await cluster.topology()).map((g) => g.master)).not.toContain(group!.master);
    for (let i = 0; i < 30; i += 1) await redis.incr(`spread:${i}`);
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => redis.get(`spread:${i}`)));
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => String(i + 1)));
    await cluster.restart(group!.master);
    await cluster.waitHealthy(60_000);
  }, 90_000);
});

describe("Redis URLs", () => {
  it("REDIS_CLUSTER_NODES wins over REDIS_URL", () => {
    expect(redisUrlFromEnv({ REDIS_CLUSTER_NODES: "a:7000, b:7001", REDIS_URL: "redis://x:1" })).toBe("redis+cluster://a:7000,b:7001");
    expect(redisUrlFromEnv({ REDIS_URL: "redis://x:1" })).toBe("redis://x:1");
    expect(redisUrlFromEnv({})).toBe("redis://127.0.0.1:6379");
  });

  it("parses seeds and credentials of a cluster URL", () => {
    expect(parseClusterUrl("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
      username: "u",
      password: "p@ss",
      tls: false,
    });
    expect(() => parseClusterUrl("redis+cluster://")).toThrow(/no nodes/);
  });

  it("rediss+cluster:// and REDIS_CLUSTER_TLS give a cluster client over TLS", () => {
    expect(redisUrlFromEnv({ REDIS_CLUSTER_NODES: "a:7000", REDIS_CLUSTER_TLS: "true" })).toBe("rediss+cluster://a:7000");
    expect(parseClusterUrl("rediss+cluster://a:7000").tls).toBe(true);
    const secure = createRedis("rediss+cluster://a:7000", { lazyConnect: true }) as Cluster;
    const plain = createRedis("redis+cluster://a:7000", { lazyConnect: true }) as Cluster;
    try {
      expect(secure.options.redisOptions?.tls).toEqual({});
      expect(plain.options.redisOptions?.tls).toBeUndefined();
    } finally {
      secure.disconnect();
      plain.disconnect();
    }
  });
});
