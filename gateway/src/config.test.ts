import { loadGatewayConfig } from "./config";

const PRODUCTION = { NODE_ENV: "production", INTERNAL_SECRET: "a-production-internal-secret", JWT_KEYS: "k1:a-production-jwt-secret" };

describe("subscription connection caps", () => {
  it("are 100 sockets per address and 10 per user in production, higher elsewhere, and configurable", () => {
    expect(loadGatewayConfig(PRODUCTION)).toMatchObject({ maxConnectionsPerIp: 100, maxConnectionsPerUser: 10 });
    expect(loadGatewayConfig({ NODE_ENV: "test" })).toMatchObject({ maxConnectionsPerIp: 1000, maxConnectionsPerUser: 200 });
    expect(loadGatewayConfig({ ...PRODUCTION, MAX_CONNECTIONS_PER_IP: "5", MAX_CONNECTIONS_PER_USER: "2" })).toMatchObject({
      maxConnectionsPerIp: 5,
      maxConnectionsPerUser: 2,
    });
  });
});

describe("gateway rate limits", () => {
  it("are strict in production: 600 per user, 1,200 per address, 100 failed sign-ins per address a minute, 10 per account and address and 50 per account in 15 minutes", () => {
    expect(loadGatewayConfig(PRODUCTION).rateLimit).toEqual({
      perUser: 600,
      perIp: 1200,
      authPerIp: 100,
      authPerAccount: 50,
      authPerAccountIp: 10,
      authAccountWindowMs: 900_000,
      windowMs: 60_000,
    });
  });

  it("elsewhere sit above what a local test suite sends from one address, yet still stop a password-guessing loop", () => {
    for (const NODE_ENV of ["development", "test"]) {
      const { rateLimit } = loadGatewayConfig({ NODE_ENV });
      expect(rateLimit.perUser).toBeGreaterThanOrEqual(100 * 60); // 100 requests a second, sustained
      expect(rateLimit.perIp).toBeGreaterThanOrEqual(rateLimit.perUser);
      expect(rateLimit.authPerIp).toBeGreaterThan(100);
      expect(rateLimit.authPerIp).toBeLessThanOrEqual(300);
      expect(rateLimit.authPerAccountIp).toBeLessThan(rateLimit.authPerAccount);
    }
  });

  it("take what the environment sets, in any mode", () => {
    const env = {
      RATE_LIMIT_PER_MINUTE: "7",
      RATE_LIMIT_IP_PER_MINUTE: "8",
      AUTH_RATE_LIMIT_PER_MINUTE: "9",
      AUTH_ACCOUNT_RATE_LIMIT: "10",
      AUTH_ACCOUNT_IP_RATE_LIMIT: "3",
      AUTH_ACCOUNT_WINDOW_SECONDS: "60",
    };
    for (const mode of [PRODUCTION, { NODE_ENV: "development" }]) {
      expect(loadGatewayConfig({ ...mode, ...env }).rateLimit).toMatchObject({
        perUser: 7,
        perIp: 8,
        authPerIp: 9,
        authPerAccount: 10,
        authPerAccountIp: 3,
        authAccountWindowMs: 60_000,
      });
    }
  });
});

describe("subgraph URL overrides", () => {
  it("hold only the SUBGRAPH_<NAME>_URLs actually set", () => {
    const config = loadGatewayConfig({ SUBGRAPH_ORDER_URL: "http://orders.internal:8080/graphql" });
    expect(config.subgraphUrlOverrides).toEqual({ order: "http://orders.internal:8080/graphql" });
    expect(config.subgraphUrls.user).toBe("http://127.0.0.1:4001/graphql");
  });
});
