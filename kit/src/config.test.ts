import { ConfigError, loadBaseConfig, loadSubgraphConfig } from "./config";

const base = { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" };

describe("subgraph config: Redis", () => {
  it("takes a Redis Cluster from REDIS_CLUSTER_NODES over REDIS_URL", () => {
    const config = loadBaseConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000,10.0.0.2:7000", REDIS_URL: "redis://one:6379" });
    expect(config.redisUrl).toBe("redis+cluster://10.0.0.1:7000,10.0.0.2:7000");
  });

  it("refuses a REDIS_URL that is neither a URL nor cluster seeds, naming the variable", () => {
    expect(() => loadBaseConfig({ REDIS_URL: "not a url" })).toThrow(ConfigError);
    expect(() => loadBaseConfig({ REDIS_URL: "not a url" })).toThrow(/REDIS_URL/);
    expect(() => loadBaseConfig({ REDIS_URL: "redis+cluster://" })).toThrow(/REDIS_URL/);
  });

  it("leaves the replica acknowledgements to the client kind unless REDIS_REPLICA_ACKS says", () => {
    expect(loadSubgraphConfig("order", base).streams.replicaAcks).toBeUndefined();
    expect(loadSubgraphConfig("order", { ...base, REDIS_REPLICA_ACKS: "0" }).streams.replicaAcks).toBe(0);
    expect(loadSubgraphConfig("order", { ...base, REDIS_REPLICA_ACKS: "2" }).streams.replicaAcks).toBe(2);
    expect(() => loadSubgraphConfig("order", { ...base, REDIS_REPLICA_ACKS: "-1" })).toThrow(/REDIS_REPLICA_ACKS/);
  });
});
