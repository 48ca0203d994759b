import { smtpSink } from "@commerce/testing";
import { accessToken, useGatewayBench, type HttpResult } from "./testing/harness";

/** Account self-service and staff tools, through the gateway, on the real user subgraph. */
const suite = useGatewayBench();

type Auth = { accessToken: string; refreshToken: string; user: { id: string; email: string } };
type Result = HttpResult;

const gql = (query: string, variables: Record<string, unknown> = {}, token?: string) =>
  suite.ask({ query, variables }, token ? { authorization: `Bearer ${token}` } : {});

const PAYLOAD = "accessToken refreshToken user { id email }";
const address = (label: string) => `${label}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;

async function register(email = address("acct"), password = "correct horse battery", name = "Ada"): Promise<Auth> {
  const result = await gql(`mutation($i: RegisterInput!) { register(input: $i) { ${PAYLOAD} } }`, { i: { email, password, name } });
  expect(result.body.errors).toBeUndefined();
  return result.body.data!.register as Auth;
}
const login = (email: string, password: string) =>
  gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ${PAYLOAD} } }`, { e: email, p: password });
const refresh = (token: string) => gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { ${PAYLOAD} } }`, { t: token });

function expectBadInput(result: Result, field: string) {
  expect(result.body.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
}

describe("weak passwords", () => {
  it.each([
    ["too short", "abc-123"],
    ["the e-mail itself", "EMAIL"],
    ["the e-mail's name", "LOCAL"],
    ["a common password", "Password123"],
    ["another common one", "qwertyuiop"],
  ])("are refused at register: %s", async (_label, chosen) => {
    const email = address("weak");
    const password = chosen === "EMAIL" ? email.toUpperCase() : chosen === "LOCAL" ? email.split("@")[0] : chosen;
    const result = await gql("mutation($i: RegisterInput!) { register(input: $i) { accessToken } }", { i: { email, password, name: "W" } });
    expectBadInput(result, "input.password");
    expect((await login(email, password)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("logout", () => {
  it("ends that sign-in only: its refresh tokens stop working, another sign-in's do not", async () => {
    const first = await register();
    const second = (await login(first.user.email, "correct horse battery")).body.data!.login as Auth;
    const out = await gql("mutation($t: String!) { logout(refreshToken: $t) }", { t: first.refreshToken });
    expect(out.body).toEqual({ data: { logout: true } });
    expect((await refresh(first.refreshToken)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await refresh(second.refreshToken)).body.errors).toBeUndefined();
    // Idempotent, and no oracle for made-up tokens.
    expect((await gql('mutation { logout(refreshToken: "made-up") }')).body).toEqual({ data: { logout: true } });
  });
});

describe("changePassword", () => {
  const CHANGE = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";

  it("needs the current password and a strong new one, then ends every other sign-in", async () => {
    const mine = await register();
    const other = (await login(mine.user.email, "correct horse battery")).body.data!.login as Auth;
    expect((await gql(CHANGE, { c: "x", n: "a brand new secret" })).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expectBadInput(await gql(CHANGE, { c: "not my password", n: "a brand new secret" }, mine.accessToken), "currentPassword");
    expectBadInput(await gql(CHANGE, { c: "correct horse battery", n: "password1" }, mine.accessToken), "newPassword");

    expect((await gql(CHANGE, { c: "correct horse battery", n: "a brand new secret" }, mine.accessToken)).body).toEqual({
      data: { changePassword: true },
    });
    expect((await refresh(other.refreshToken)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await refresh(mine.refreshToken)).body.errors).toBeUndefined();
    expect((await login(mine.user.email, "correct horse battery")).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await login(mine.user.email, "a brand new secret")).body.errors).toBeUndefined();
  });
});

describe("password reset", () => {
  const REQUEST = "mutation($e: String!) { requestPasswordReset(email: $e) }";
  const RESET = `mutation($t: String!, $n: String!) { resetPassword(token: $t, newPassword: $n) { ${PAYLOAD} } }`;

  async function mailedToken(email: string): Promise<string> {
    const mail = await smtpSink.waitFor(email, (message) => message.subject === "Reset your password");
    const token = /\n\n([A-Za-z0-9_-]{43})\n\n/.exec(mail.text ?? "")?.[1];
    expect(token).toBeDefined();
    return token!;
  }

  it("answers true for any address, and mails only an existing one", async () => {
    const nobody = address("nobody");
    expect((await gql(REQUEST, { e: nobody })).body).toEqual({ data: { requestPasswordReset: true } });
    const someone = await register();
    expect((await gql(REQUEST, { e: ` ${someone.user.email.toUpperCase()} ` })).body).toEqual({ data: { requestPasswordReset: true } });
    await mailedToken(someone.user.email);
    expect(await smtpSink.messages(nobody)).toEqual([]);
  });

  it("signs in with a single-use token and a strong password, ending the old sign-ins", async () => {
    const account = await register();
    await gql(REQUEST, { e: account.user.email });
    const token = await mailedToken(account.user.email);

    expectBadInput(await gql(RESET, { t: token, n: "12345678" }), "newPassword");
    expectBadInput(await gql(RESET, { t: "not-a-token", n: "a fresh long secret" }), "token");
    const reset = await gql(RESET, { t: token, n: "a fresh long secret" });
    expect(reset.body.errors).toBeUndefined();
    const signedIn = reset.body.data!.resetPassword as Auth;
    expect(signedIn.user.id).toBe(account.user.id);
    const me = await gql("{ me { id } }", {}, signedIn.accessToken);
    expect(me.body.data).toEqual({ me: { id: account.user.id } });

    expectBadInput(await gql(RESET, { t: token, n: "another fresh secret" }), "token");
    expect((await refresh(account.refreshToken)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await refresh(signedIn.refreshToken)).body.errors).toBeUndefined();
    expect((await login(account.user.email, "a fresh long secret")).body.errors).toBeUndefined();
  });

  it("serves the page the mail links to, whose form resets the password", async () => {
    const account = await register();
    await gql(REQUEST, { e: account.user.email });
    const mail = await smtpSink.waitFor(account.user.email, (message) => message.subject === "Reset your password");
    const link = new URL(/https?:\/\/\S+/.exec(mail.text ?? "")![0]);
    const page = await fetch(new URL(link.pathname + link.search, suite.gateway.url));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toMatch(/<form id="reset">/);
    const src = /<script src="([^"]+)"><\/script>/.exec(html)![1];
    const script = await (await fetch(new URL(src, suite.gateway.url))).text();
    // The page sends exactly this operation with the link's token.
    const query = /query: "([^"]+)"/.exec(script)![1];
    const reset = await gql(query, { token: link.searchParams.get("token"), newPassword: "set from the page" });
    expect(reset.body).toEqual({ data: { resetPassword: { user: { email: account.user.email } } } });
    expect((await login(account.user.email, "set from the page")).body.errors).toBeUndefined();
  });

  it("refuses an expired token", async () => {
    const account = await register();
    await gql(REQUEST, { e: account.user.email });
    const token = await mailedToken(account.user.email);
    const em = suite.bench.user.runtime.orm.em.fork();
    await em
      .getConnection()
      .execute("update password_reset_tokens set expires_at = now() - interval '1 second' where user_id = ?", [account.user.id]);
    expectBadInput(await gql(RESET, { t: token, n: "a fresh long secret" }), "token");
  });
});

describe("users (staff tools)", () => {
  const USERS =
    "query($f: UserFilter, $first: Int, $after: String) { users(filter: $f, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id email name role } } } }";
  type Page = {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; email: string; name: string; role: string } }[];
  };

  it("finds accounts by e-mail, role or a search, page by page, for STAFF and ADMIN only", async () => {
    const tag = `zq${Date.now()}`;
    const made = [];
    for (const name of [`${tag} One`, `${tag} Two`, `${tag} 50%_off`])
      made.push(await register(address("staff-tools"), "correct horse battery", name));
    const staff = accessToken({ sub: made[0].user.id, role: "STAFF" });
    const admin = accessToken({ sub: made[1].user.id, role: "ADMIN" });

    const exact = await gql(USERS, { f: { email: ` ${made[1].user.email.toUpperCase()} ` } }, staff);
    expect((exact.body.data!.users as Page).edges.map((edge) => edge.node.id)).toEqual([made[1].user.id]);

    const first = (await gql(USERS, { f: { search: tag.toUpperCase(), role: "CUSTOMER" }, first: 2 }, admin)).body.data!.users as Page;
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await gql(USERS, { f: { search: tag }, first: 2, after: first.pageInfo.endCursor }, admin)).body.data!.users as Page;
    expect([...first.edges, ...rest.edges].map((edge) => edge.node.id)).toEqual(made.map((m) => m.user.id).reverse());
    expect(rest.pageInfo.hasNextPage).toBe(false);

    // % and _ are literal in a search.
    const literal = (await gql(USERS, { f: { search: "50%_" } }, admin)).body.data!.users as Page;
    expect(literal.edges.map((edge) => edge.node.id)).toContain(made[2].user.id);
    expect(literal.edges.every((edge) => edge.node.name.includes("50%_"))).toBe(true);
    expect(((await gql(USERS, { f: { role: "ADMIN", search: tag } }, admin)).body.data!.users as Page).totalCount).toBe(0);

    expect((await gql(USERS, {}, made[2].accessToken)).body.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await gql(USERS)).body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expectBadInput(await gql(USERS, { first: 101 }, admin), "first");
  });
});
