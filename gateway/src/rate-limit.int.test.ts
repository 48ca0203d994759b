import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import pino from "pino";
import { freePort, randomStreamPrefix } from "@commerce/testing";
import { RateLimiter } from "./rate-limit";
import type { RunningGateway } from "./server";
import { accessToken, clientIp, post, startBench, type Bench, type HttpResult } from "./testing/harness";

let bench: Bench;
/** Two replicas sharing one Redis, as behind a load balancer. */
let gateways: [RunningGateway, RunningGateway];

beforeAll(async () => {
  bench = await startBench();
  const limits = { AUTH_RATE_LIMIT_PER_MINUTE: "5", RATE_LIMIT_PER_MINUTE: "4", RATE_LIMIT_IP_PER_MINUTE: "8" };
  gateways = [await bench.gateway(limits), await bench.gateway(limits)];
}, 60_000);
afterAll(() => bench?.stop());

const LOGIN = 'mutation { login(email: "victim@example.com", password: "guess") { accessToken } }';
const WIDGETS = "{ widgets { totalCount } }";

/** `maxRetryAfter`: two windows of the bucket expected to refuse (the account windows are 15 minutes). */
function expectRateLimited(result: HttpResult, maxRetryAfter = 120) {
  expect(result.status).toBe(429);
  const error = result.body.errors?.[0];
  expect(error?.extensions).toEqual({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
  const retryAfter = error?.extensions?.retryAfter as number;
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
  expect(result.headers.get("retry-after")).toBe(String(retryAfter));
  expect(result.body.data).toBeUndefined();
}

describe("rate limits through the gateway", () => {
  it("lets successful sign-ups and logins through, however many, from one address", async () => {
    const ip = clientIp();
    const email = `busy.${Date.now()}@example.com`;
    const registered = await post(
      gateways[0].url,
      {
        query: "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        variables: { i: { email, password: "correct horse battery", name: "Bo" } },
      },
      { "x-forwarded-for": ip },
    );
    expect(registered.body.errors).toBeUndefined();
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const login = await post(
        gateways[attempt % 2].url,
        { query: `mutation { login(email: "${email}", password: "correct horse battery") { accessToken } }` },
        { "x-forwarded-for": ip },
      );
      expect(login.status).toBe(200);
      expect(login.body.errors).toBeUndefined();
    }
  });

  it("stops a brute-force login at AUTH_RATE_LIMIT_PER_MINUTE failed attempts, before the user subgraph", async () => {
    const ip = clientIp();
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const result = await post(gateways[0].url, { query: LOGIN }, { "x-forwarded-for": ip });
      expect(result.body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED"); // the subgraph's "wrong email or password"
    }
    const userOperations = async () => {
      const text = await (await fetch(bench.user.url.replace("/graphql", "/metrics"))).text();
      return [...text.matchAll(/^graphql_operations_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const before = await userOperations();
    expectRateLimited(await post(gateways[0].url, { query: LOGIN }, { "x-forwarded-for": ip }));
    expect(await userOperations()).toBe(before);
    // another client is not affected, and the same client may still do other things
    expect((await post(gateways[0].url, { query: LOGIN }, { "x-forwarded-for": clientIp() })).status).toBe(200);
    expect((await post(gateways[0].url, { query: WIDGETS }, { "x-forwarded-for": ip })).status).toBe(200);
  });

  it("does not count sign-ins refused only for their input: no password was guessed", async () => {
    const ip = clientIp();
    const badRegister = {
      query: "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
      variables: { i: { email: "not-an-email", password: "x", name: "Bo" } },
    };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const result = await post(gateways[attempt % 2].url, badRegister, { "x-forwarded-for": ip });
      expect(result.body.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    }
    // The whole budget of 5 failed attempts is still there for wrong passwords (8 requests: the address's limit).
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const result = await post(gateways[attempt % 2].url, { query: LOGIN }, { "x-forwarded-for": ip });
      expect(result.body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    }
  });

  it("counts every aliased login in one request", async () => {
    const query = `mutation { ${Array.from({ length: 6 }, (_, i) => `a${i}: login(email: "v@example.com", password: "g${i}") { accessToken }`).join(" ")} }`;
    expectRateLimited(await post(gateways[0].url, { query }, { "x-forwarded-for": clientIp() }));
  });

  it("holds across two gateway replicas sharing Redis", async () => {
    const ip = clientIp();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const result = await post(gateways[attempt % 2].url, { query: LOGIN }, { "x-forwarded-for": ip });
      statuses.push(result.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("limits a signed-in user wherever they call from, and an IP whoever calls from it", async () => {
    const token = accessToken({ sub: `user-${Date.now()}` });
    const asUser = (gateway: RunningGateway) =>
      post(gateway.url, { query: WIDGETS }, { authorization: `Bearer ${token}`, "x-forwarded-for": clientIp() });
    for (let i = 0; i < 4; i += 1) expect((await asUser(gateways[i % 2])).status).toBe(200);
    const before = bench.probeOperations();
    expectRateLimited(await asUser(gateways[0]));
    expect(bench.probeOperations()).toBe(before);

    const ip = clientIp();
    for (let i = 0; i < 8; i += 1) expect((await post(gateways[i % 2].url, { query: WIDGETS }, { "x-forwarded-for": ip })).status).toBe(200);
    expectRateLimited(await post(gateways[1].url, { query: WIDGETS }, { "x-forwarded-for": ip }));
  });

  describe("per account", () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      // A generous address budget, as in production: the account limits must act first.
      gateway = await bench.gateway({ AUTH_RATE_LIMIT_PER_MINUTE: "100", AUTH_ACCOUNT_IP_RATE_LIMIT: "3", AUTH_ACCOUNT_RATE_LIMIT: "5" });
    });

    const register = async (email: string) => {
      const result = await post(
        gateway.url,
        {
          query: "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
          variables: { i: { email, password: "correct horse battery", name: "Bo" } },
        },
        { "x-forwarded-for": clientIp() },
      );
      expect(result.body.errors).toBeUndefined();
    };
    const login = (email: string, password: string, ip: string) =>
      post(
        gateway.url,
        { query: "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", variables: { e: email, p: password } },
        { "x-forwarded-for": ip },
      );

    it("throttles guessing at one account, never another account's correct sign-in from the same address", async () => {
      const victim = `victim.${Date.now()}@example.com`;
      const bystander = `bystander.${Date.now()}@example.com`;
      await Promise.all([register(victim), register(bystander)]);
      const attacker = clientIp();
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        expect((await login(victim, `guess ${attempt}`, attacker)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
      }
      // The (account, address) pair is throttled, the right password included (no oracle for guesses),
      // and the address's other accounts are not: 20 more guesses at the victim change nothing for them.
      expectRateLimited(await login(victim, "correct horse battery", attacker), 1800);
      for (let attempt = 0; attempt < 20; attempt += 1) expect((await login(victim.toUpperCase(), "guess", attacker)).status).toBe(429);
      const other = await login(bystander, "correct horse battery", attacker);
      expect(other.body.errors).toBeUndefined();
      expect(other.body.data?.login).toEqual({ accessToken: expect.any(String) });

      // The owner, elsewhere, still signs in: the refused guesses did not fill the account's budget.
      expect((await login(victim, "correct horse battery", clientIp())).body.errors).toBeUndefined();
      // Guesses from more addresses reach the account's own limit (5), which then holds everywhere.
      expect((await login(victim, "guess", clientIp())).status).toBe(200);
      expect((await login(victim, "guess", clientIp())).status).toBe(200);
      expectRateLimited(await login(victim, "correct horse battery", clientIp()), 1800);
      expect((await login(bystander, "correct horse battery", clientIp())).body.errors).toBeUndefined();
      const metrics = await (await fetch(gateway.url.replace("/graphql", "/metrics"))).text();
      expect(metrics).toMatch(/gateway_refusals_total\{reason="rate_limited",rule="account_ip",service="gateway"\} 21/);
      expect(metrics).toMatch(/gateway_refusals_total\{reason="rate_limited",rule="account",service="gateway"\} 1/);
    });
  });

  it("counts refusals on /metrics", async () => {
    const metrics = await (await fetch(gateways[0].url.replace("/graphql", "/metrics"))).text();
    expect(metrics).toMatch(/gateway_refusals_total\{reason="rate_limited",rule="auth",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_refusals_total\{reason="rate_limited",rule="user",service="gateway"\} [1-9]/);
  });
});

describe("RateLimiter", () => {
  const WINDOW = 60_000;
  let redis: Redis;
  beforeAll(() => void (redis = new Redis(process.env.TEST_REDIS_URL as string)));
  afterAll(() => redis?.disconnect());

  it("slides: a full window keeps refusing until enough of it has decayed", async () => {
    const limiter = new RateLimiter(redis, randomStreamPrefix("ratelimit"), WINDOW, pino({ level: "silent" }));
    const start = Math.floor(Date.now() / WINDOW) * WINDOW; // the start of a window
    const bucket = [{ kind: "ip" as const, id: "203.0.113.1", limit: 10 }];
    for (let i = 0; i < 10; i += 1) expect(await limiter.take(bucket, start)).toBeNull();
    // the next window starts at 60 s, but 10 × (1 - 6/60) + 1 = 10 is only reached at 66 s
    expect(await limiter.take(bucket, start)).toEqual({ retryAfter: 66, bucket: "ip" });
    expect(await limiter.take(bucket, start + WINDOW + 5_000)).toEqual({ retryAfter: 1, bucket: "ip" });
    expect(await limiter.take(bucket, start + WINDOW + 6_000)).toBeNull();
    // a refused request is not counted, a served one is
    expect(await limiter.take(bucket, start + WINDOW + 6_000)).not.toBeNull();
  });
});

describe("when Redis is down", () => {
  let server: ChildProcess | undefined;
  afterAll(() => void server?.kill("SIGKILL"));

  /** A private Redis this test may kill (the shared one serves other suites). */
  async function startRedis(port: number): Promise<void> {
    server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--dir", mkdtempSync(join(tmpdir(), "gw-redis-"))], {
      stdio: "ignore",
    });
    const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => 50 });
    const deadline = Date.now() + 10_000;
    while ((await client.ping().catch(() => null)) !== "PONG") {
      if (Date.now() > deadline) throw new Error("test redis did not start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    client.disconnect();
  }

  it("fails open while it is down, counting the failures, and limits again once it is back", async () => {
    const port = await freePort();
    await startRedis(port);
    const gateway = await bench.gateway({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_IP_PER_MINUTE: "2" });
    const ip = clientIp();
    const widgets = () => post(gateway.url, { query: WIDGETS }, { "x-forwarded-for": ip });
    expect((await widgets()).status).toBe(200);

    server!.kill("SIGKILL");
    await new Promise((resolve) => server!.once("exit", resolve));
    // well over the limit of 2, all served at once: nothing waits on the absent Redis
    for (let i = 0; i < 4; i += 1) {
      const result = await widgets();
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual({ widgets: { totalCount: 2 } });
    }
    const metrics = await (await fetch(gateway.url.replace("/graphql", "/metrics"))).text();
    expect(metrics).toMatch(/gateway_rate_limiter_errors_total\{service="gateway"\} [1-9]/);

    // Redis is back (empty): the limiter reconnects by itself and counts again
    await startRedis(port);
    const deadline = Date.now() + 15_000;
    let statuses: number[] = [];
    while (!statuses.includes(429)) {
      if (Date.now() > deadline) throw new Error(`no refusal after Redis came back: ${statuses.join(",")}`);
      statuses = [(await widgets()).status, (await widgets()).status, (await widgets()).status];
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
