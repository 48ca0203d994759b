import { bodyHash, OverloadedError, signIdentityHeaders, SIGNATURE_TTL_MS, TokenError, verifyIdentityHeaders, type Identity } from "./auth";

const SECRET = "unit-test-internal-secret";
const CUSTOMER: Identity = { kind: "user", userId: "u-1", role: "CUSTOMER" };
const BODY = JSON.stringify({ query: "{ order(id: 1) { id } }" });
const NOW = 1_800_000_000_000;

const verify = (headers: Record<string, string>, target: { audience?: string; method?: string; body?: string } = {}, now = NOW) =>
  verifyIdentityHeaders(
    headers,
    SECRET,
    { audience: target.audience ?? "order", method: target.method ?? "POST", bodyHash: bodyHash(target.body ?? BODY) },
    now,
  );

describe("signed identity headers", () => {
  const headers = signIdentityHeaders(CUSTOMER, SECRET, { audience: "order", body: BODY }, "req-1", NOW);

  it("verify for the subgraph, method and body they were made for, with a nonce valid a few seconds", () => {
    const verified = verify(headers);
    expect(verified).toMatchObject({ identity: CUSTOMER, requestId: "req-1", expiresAt: NOW + SIGNATURE_TTL_MS });
    expect(verified.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(signIdentityHeaders(CUSTOMER, SECRET, { audience: "order", body: BODY }, "req-1", NOW)["x-commerce-nonce"]).not.toBe(verified.nonce);
  });

  it.each([
    ["another subgraph", { audience: "user" }],
    ["another method", { method: "GET" }],
    ["another body", { body: JSON.stringify({ query: "{ orders { totalCount } }" }) }],
  ])("do not verify for %s", (_what, target) => {
    expect(() => verify(headers, target)).toThrow(new TokenError("bad gateway signature"));
  });

  it("do not verify once a few seconds old (the service was too slow to read them), nor from a clock too far ahead", () => {
    expect(() => verify(headers, {}, NOW + SIGNATURE_TTL_MS + 1)).toThrow(OverloadedError);
    expect(() => verify(headers, {}, NOW + SIGNATURE_TTL_MS + 1)).toThrow(TokenError);
    expect(() => verify(headers, {}, NOW - SIGNATURE_TTL_MS - 1)).toThrow(new TokenError("stale gateway credentials"));
    expect(verify(headers, {}, NOW + SIGNATURE_TTL_MS - 1).identity).toEqual(CUSTOMER);
  });

  it("are taken for overload only when authentic: an old forgery is a bad signature", () => {
    const forged = { ...headers, "x-commerce-signature": headers["x-commerce-signature"]!.replace(/^./, (c) => (c === "A" ? "B" : "A")) };
    expect(() => verify(forged, {}, NOW + SIGNATURE_TTL_MS + 1)).toThrow(new TokenError("bad gateway signature"));
  });

  it("do not verify with any signed part changed", () => {
    for (const [name, value] of [
      ["x-commerce-identity", Buffer.from(JSON.stringify({ ...CUSTOMER, role: "ADMIN" })).toString("base64url")],
      ["x-request-id", "req-2"],
      ["x-commerce-nonce", "00000000-0000-4000-8000-000000000000"],
      ["x-commerce-timestamp", String(NOW + 1)],
    ]) {
      expect(() => verify({ ...headers, [name]: value })).toThrow(TokenError);
    }
    const { "x-commerce-nonce": _dropped, ...withoutNonce } = headers;
    expect(() => verify(withoutNonce)).toThrow(new TokenError("missing gateway credentials"));
  });
});
