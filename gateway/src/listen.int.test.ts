import { loadGatewayConfig } from "./config";
import { clientIp, post, startBench, type Bench } from "./testing/harness";

let bench: Bench;
beforeAll(async () => {
  bench = await startBench();
}, 60_000);
afterAll(() => bench?.stop());

const me = (url: string) => post(url, { query: "{ me { id } }" }, { "x-forwarded-for": clientIp() });

describe("subgraph addresses", () => {
  it("are the supergraph's when no SUBGRAPH_<NAME>_URL is set", async () => {
    // The bench's supergraph names the user subgraph's real (random) port; the default would be :4001.
    const gateway = await bench.gateway({ SUBGRAPH_USER_URL: "" });
    const answer = await me(gateway.url);
    expect(answer.body).toEqual({ data: { me: null } });
  });

  it("are the override's when one is set explicitly", async () => {
    const gateway = await bench.gateway({ SUBGRAPH_USER_URL: "http://127.0.0.1:9/graphql" });
    const answer = await me(gateway.url);
    expect(answer.body.errors?.[0].extensions?.code).toBe("INTERNAL_SERVER_ERROR");
  });
});

describe("the listen address", () => {
  const reachable = (port: number, host: string) =>
    fetch(`http://${host}:${port}/health`).then(
      (response) => response.ok,
      () => false,
    );

  it("is 127.0.0.1 unless HOST says otherwise", async () => {
    expect(loadGatewayConfig({}).host).toBe("127.0.0.1");
    const local = await bench.gateway();
    expect(await reachable(local.port, "127.0.0.1")).toBe(true);
    // Another loopback address stands in for the machine's other interfaces.
    expect(await reachable(local.port, "127.0.0.2")).toBe(false);
    const everywhere = await bench.gateway({ HOST: "0.0.0.0" });
    expect(await reachable(everywhere.port, "127.0.0.2")).toBe(true);
  });
});
