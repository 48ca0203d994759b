/**
 * What a subgraph accepts: only requests signed for it, with the body they carry, once, for a few
 * seconds; `/metrics` only for whoever holds the token (or, without one, callers on this machine);
 * and it listens on 127.0.0.1 unless HOST says otherwise.
 */
import { Query, Resolver } from "type-graphql";
import { startTestSubgraph, TEST_INTERNAL_SECRET, type TestSubgraph } from "@commerce/testing/subgraph";
import { signIdentityHeaders, SIGNATURE_TTL_MS, type Identity } from "./auth";
import { OVERLOADED_HEADER } from "./overload";
import type { SubgraphModule } from "./server";

@Resolver()
class WhoResolver {
  @Query(() => String)
  who(): string {
    return "me";
  }
}

const whoModule: SubgraphModule = { name: "product", entities: [], migrations: [], resolvers: [WhoResolver] };
const METRICS_TOKEN = "a-metrics-token-for-tests";

let subgraph: TestSubgraph<unknown>;
beforeAll(async () => {
  subgraph = await startTestSubgraph(whoModule, { METRICS_TOKEN });
}, 60_000);
afterAll(() => subgraph?.stop());

const BODY = JSON.stringify({ query: "{ who }" });
const ADMIN: Identity = { kind: "user", userId: "00000000-0000-4000-8000-000000000001", role: "ADMIN" };

const send = async (headers: Record<string, string>, body = BODY) => {
  const response = await fetch(subgraph.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string }[] } };
};
const signed = (overrides: { audience?: string; body?: string; now?: number } = {}) =>
  signIdentityHeaders(
    ADMIN,
    TEST_INTERNAL_SECRET,
    { audience: overrides.audience ?? "product", body: overrides.body ?? BODY },
    undefined,
    overrides.now,
  );

describe("a signed request", () => {
  it("is answered once", async () => {
    const headers = signed();
    expect(await send(headers)).toEqual({ status: 200, body: { data: { who: "me" } } });
    const replayed = await send(headers);
    expect(replayed.status).toBe(401);
    expect(replayed.body.errors?.[0].message).toMatch(/replayed/);
  });

  it("is refused by another subgraph than the one it was signed for", async () => {
    const other = await send(signed({ audience: "user" }));
    expect(other.status).toBe(401);
    expect(other.body.errors?.[0].message).toMatch(/bad gateway signature/);
  });

  it("is refused with another body than the one it was signed with", async () => {
    const swapped = await send(signed(), JSON.stringify({ query: "{ who __typename }" }));
    expect(swapped.status).toBe(401);
    const padded = await send(signed(), `${BODY} `);
    expect(padded.status).toBe(401);
  });

  it("is refused a few seconds after it was signed, and when signed too far ahead", async () => {
    expect((await send(signed({ now: Date.now() + SIGNATURE_TTL_MS + 1_000 }))).status).toBe(401);
    expect(SIGNATURE_TTL_MS).toBeLessThanOrEqual(10_000);
  });

  it("that queued past its validity is refused unexecuted as overload, retryable, and still only once", async () => {
    const late = signed({ now: Date.now() - SIGNATURE_TTL_MS - 1_000 });
    const response = await fetch(subgraph.url, { method: "POST", headers: { "content-type": "application/json", ...late }, body: BODY });
    expect(response.status).toBe(503);
    expect(response.headers.get(OVERLOADED_HEADER)).toBe("1");
    expect(response.headers.get("retry-after")).toBe("1");
    const body = (await response.json()) as { data?: unknown; errors?: { extensions?: unknown }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: "SERVICE_UNAVAILABLE", retryable: true } })]);
    // Sent again, it is refused again: it never runs.
    expect((await send(late)).status).toBe(503);
    // A forged late request is no overload: it is refused as a bad signature.
    const forged = { ...late, "x-commerce-identity": Buffer.from(JSON.stringify({ ...ADMIN, userId: "someone-else" })).toString("base64url") };
    expect((await send(forged)).status).toBe(401);
  });
});

describe("/metrics", () => {
  const scrape = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${subgraph.port}/metrics`, { headers });

  it("answers the bearer of METRICS_TOKEN only", async () => {
    expect((await scrape()).status).toBe(403);
    expect((await scrape({ authorization: "Bearer not-the-token" })).status).toBe(403);
    const allowed = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain("circuit_breaker_state");
  });
});

describe("the listen address", () => {
  it("is 127.0.0.1 unless HOST says otherwise", async () => {
    const reach = (host: string) =>
      fetch(`http://${host}:${subgraph.port}/health`).then(
        (response) => response.status,
        () => "refused",
      );
    expect(await reach("127.0.0.1")).toBe(200);
    // Another loopback address stands in for the machine's other interfaces.
    expect(await reach("127.0.0.2")).toBe("refused");
  });
});
