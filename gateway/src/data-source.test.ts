import { SIGNED_IN_EXTENSION, signAccessToken, type Identity } from "@commerce/kit";
import type { GatewayContext } from "./context";
import { SignedDataSource } from "./data-source";

/**
 * A sign-in reported by the user subgraph (register/login/refreshToken) makes its user the caller for
 * the rest of the operation; nothing else can, and the report never reaches the client.
 */
describe("SignedDataSource: sign-ins reported by a subgraph", () => {
  const jwt = { keys: [{ kid: "k1", secret: "unit-test-jwt-secret" }], issuer: "commerce", audience: "commerce-api", accessTokenTtlSeconds: 900 };
  const tokenFor = (sub: string, keys = jwt.keys) =>
    signAccessToken({ sub, role: "CUSTOMER", email: `${sub}@example.com` }, { ...jwt, keys, ttlSeconds: 900 }).token;
  const anonymous = (): GatewayContext => ({ identity: null, requestId: "request-1", ip: "127.0.0.1" });
  const signedInAs = (sub: string): Identity => ({ kind: "user", userId: sub, role: "CUSTOMER", email: `${sub}@example.com` });

  const receive = (source: SignedDataSource, context: GatewayContext, extensions?: Record<string, unknown>) =>
    source.didReceiveResponse!({
      response: { data: { login: { user: { id: "u1" } } }, ...(extensions ? { extensions } : {}) },
      request: { query: "mutation { login { user { id } } }" },
      context,
    }) as Awaited<ReturnType<NonNullable<SignedDataSource["didReceiveResponse"]>>>;

  const user = new SignedDataSource({ name: "user", url: "http://user.invalid/graphql", secret: "internal", signIns: { jwt } });
  const payment = new SignedDataSource({ name: "payment", url: "http://payment.invalid/graphql", secret: "internal" });

  it("the user subgraph's report signs the caller in, and is removed from the response", async () => {
    const context = anonymous();
    const response = await receive(user, context, { [SIGNED_IN_EXTENSION]: { accessToken: tokenFor("u1") }, other: 1 });
    expect(context.identity).toEqual(signedInAs("u1"));
    expect(response.extensions).toEqual({ other: 1 });
    expect(response.data).toEqual({ login: { user: { id: "u1" } } });
  });

  it("a later sign-in in the same operation wins over an earlier one and over the token the request came with", async () => {
    const context = { ...anonymous(), identity: signedInAs("someone-else") };
    await receive(user, context, { [SIGNED_IN_EXTENSION]: { accessToken: tokenFor("u1") } });
    await receive(user, context, { [SIGNED_IN_EXTENSION]: { accessToken: tokenFor("u2") } });
    expect(context.identity).toEqual(signedInAs("u2"));
  });

  it("another subgraph cannot sign anyone in, but its report is removed too", async () => {
    const context = anonymous();
    const response = await receive(payment, context, { [SIGNED_IN_EXTENSION]: { accessToken: tokenFor("u1") } });
    expect(context.identity).toBeNull();
    expect(response.extensions).toEqual({});
  });

  it.each([
    ["a token signed with another key", { accessToken: tokenFor("u1", [{ kid: "k1", secret: "forged" }]) }],
    ["a token that is not a JWT", { accessToken: "not-a-token" }],
    ["no token", {}],
    ["a bare identity", { kind: "user", userId: "u1", role: "ADMIN" }],
    ["null", null],
  ])("a report holding %s changes nothing", async (_what, reported) => {
    const before = signedInAs("caller");
    const context = { ...anonymous(), identity: before };
    const response = await receive(user, context, { [SIGNED_IN_EXTENSION]: reported });
    expect(context.identity).toBe(before);
    expect(response.extensions).toEqual({});
  });

  it("a response without a report is passed through untouched", async () => {
    const context = anonymous();
    const response = { data: { me: null } };
    expect(await user.didReceiveResponse!({ response, request: { query: "{ me { id } }" }, context })).toBe(response);
    expect(context.identity).toBeNull();
  });
});
