import { createHash } from "node:crypto";
import { verifyAccessToken } from "@commerce/kit";
import { asUser, startTestSubgraph, TEST_JWT_KEYS, type TestSubgraph } from "@commerce/testing/subgraph";
import { userSubgraph } from "../module";
import type { UserSettings } from "../settings";
import { RefreshToken } from "../auth/refresh-token.entity";
import { MAX_REUSE_ANSWERS, rotateRefreshToken } from "../auth/sessions";

const STAFF = asUser("00000000-0000-4000-8000-0000000000ff", "STAFF");

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id email name role } } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`;

let service: TestSubgraph<UserSettings>;

beforeAll(async () => {
  // A long reuse grace: the tests that present one token several times must not depend on the machine's speed.
  service = await startTestSubgraph(userSubgraph, {
    ADMIN_EMAIL: "root@example.com",
    ADMIN_PASSWORD: "root-password-123",
    REFRESH_TOKEN_REUSE_GRACE: "60",
  });
});
afterAll(() => service?.stop());

const email = () => `User.${createHash("sha1").update(String(Math.random())).digest("hex").slice(0, 8)}@Example.com`;

async function register(address = email(), password = "correct horse battery") {
  const result = await service.gql<{ register: { accessToken: string; refreshToken: string; user: { id: string; email: string; role: string } } }>(
    REGISTER,
    { input: { email: address, password, name: "Ada" } },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.register;
}

describe("user subgraph", () => {
  it("registers a customer with a normalised email and a verifiable access token", async () => {
    const address = email();
    const payload = await register(address);
    expect(payload.user.email).toBe(address.toLowerCase());
    expect(payload.user.role).toBe("CUSTOMER");
    const claims = verifyAccessToken(payload.accessToken, {
      keys: [{ kid: "test", secret: TEST_JWT_KEYS.split(":")[1] }],
      issuer: "commerce-platform",
      audience: "commerce-api",
    });
    expect(claims.sub).toBe(payload.user.id);
  });

  it("writes user.registered to the outbox in the registering transaction", async () => {
    const { user } = await register();
    const rows = await service.runtime.orm.em
      .fork()
      .getConnection()
      .execute<{ type: string }[]>(`select type, payload from outbox where correlation_id = ?`, [user.id]);
    expect(rows.map((row) => row.type)).toEqual(["user.registered"]);
  });

  it("refuses a second account for the same email, whatever its case", async () => {
    const address = email();
    await register(address);
    const again = await service.gql(REGISTER, { input: { email: address.toUpperCase(), password: "another password", name: "Eve" } });
    expect(again.errors?.[0].extensions?.code).toBe("CONFLICT");
  });

  it("names the field at fault for invalid input", async () => {
    const result = await service.gql(REGISTER, { input: { email: "not-an-email", password: "correct horse", name: "Ada" } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.email" });
    const short = await service.gql(REGISTER, { input: { email: email(), password: "short", name: "Ada" } });
    expect(short.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.password" });
  });

  it("accepts an email padded with spaces, as login does, and stores it trimmed", async () => {
    const address = email();
    const padded = await service.gql<{ register: { user: { email: string } } }>(REGISTER, {
      input: { email: `  ${address} `, password: "correct horse battery", name: "Ada" },
    });
    expect(padded.errors).toBeUndefined();
    expect(padded.data?.register.user.email).toBe(address.toLowerCase());
    const login = await service.gql(LOGIN, { e: address, p: "correct horse battery" });
    expect(login.errors).toBeUndefined();
    // The 254-character limit counts the address as stored: padding does not push a valid one over it.
    const longest = `${address.split("@")[0]!.padEnd(64, "x")}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    expect(longest).toHaveLength(254);
    const paddedLongest = await service.gql(REGISTER, { input: { email: ` ${longest} `, password: "correct horse battery", name: "Ada" } });
    expect(paddedLongest.errors).toBeUndefined();
    // Two characters more (a label of its own, so every part stays within its limits) are refused.
    const tooLong = await service.gql(REGISTER, { input: { email: longest.replace("@", "@e."), password: "correct horse battery", name: "Ada" } });
    expect(tooLong.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.email" });
    const blank = await service.gql(REGISTER, { input: { email: "   ", password: "correct horse battery", name: "Ada" } });
    expect(blank.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.email" });
  });

  it("refuses a blank name, measured after trimming, and stores names trimmed", async () => {
    for (const name of ["", "   ", "\t \n", " " + "n".repeat(101) + " "]) {
      const result = await service.gql(REGISTER, { input: { email: email(), password: "correct horse", name } });
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    }
    const padded = await service.gql<{ register: { user: { name: string } } }>(REGISTER, {
      input: { email: email(), password: "correct horse", name: `  ${"n".repeat(100)}  ` },
    });
    expect(padded.errors).toBeUndefined();
    expect(padded.data?.register.user.name).toBe("n".repeat(100));
  });

  it("refuses control characters inside a name, and trims surrounding line breaks as other spaces", async () => {
    for (const name of [
      "Bob\r\nBcc: x@y",
      "Bob\nSmith",
      "Ada\tLovelace",
      "Ada\u0007",
      "\u001b[31mAda",
      "Ada\u007f",
      "Ada\u0085Byron",
      "Ada\u2028Byron",
      "Ada\u202Enorcyb",
      "\u2066Ada\u2069",
      "Ada\u200F",
      "Ada\u061C",
    ]) {
      const result = await service.gql(REGISTER, { input: { email: email(), password: "correct horse", name } });
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.name" });
    }
    const padded = await service.gql<{ register: { user: { name: string } } }>(REGISTER, {
      input: { email: email(), password: "correct horse", name: "\r\n Ada Lovelace-Byron \n" },
    });
    expect(padded.errors).toBeUndefined();
    expect(padded.data?.register.user.name).toBe("Ada Lovelace-Byron");
    const unicode = await service.gql<{ register: { user: { name: string } } }>(REGISTER, {
      input: { email: email(), password: "correct horse", name: "Zoë 李 👩‍💻" },
    });
    expect(unicode.data?.register.user.name).toBe("Zoë 李 👩‍💻");
  });

  it("logs in, and says the same thing for a wrong password and an unknown email", async () => {
    const address = email();
    const { user } = await register(address, "the right password");
    const ok = await service.gql<{ login: { user: { id: string } } }>(LOGIN, { e: address, p: "the right password" });
    expect(ok.data?.login.user.id).toBe(user.id);
    const wrongPassword = await service.gql(LOGIN, { e: address, p: "the wrong password" });
    const unknownEmail = await service.gql(LOGIN, { e: "nobody@example.com", p: "the right password" });
    expect(wrongPassword.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(unknownEmail.errors?.[0].message).toBe(wrongPassword.errors?.[0].message);
  });

  it("refuses an empty or blank email and an empty password as invalid input, not as a failed sign-in", async () => {
    const address = email();
    await register(address, "the right password");
    for (const blank of ["", "   ", "\t"]) {
      const result = await service.gql(LOGIN, { e: blank, p: "the right password" });
      expect(result.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "email" });
    }
    const noPassword = await service.gql(LOGIN, { e: address, p: "" });
    expect(noPassword.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "password" });
    // Both empty: the email is named first.
    const neither = await service.gql(LOGIN, { e: "", p: "" });
    expect(neither.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "email" });
    // A password of spaces is one register accepts: it is checked, not refused as empty.
    const spaces = await service.gql(LOGIN, { e: address, p: "        " });
    expect(spaces.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  /** Moves a spent refresh token's use back beyond the reuse grace: it comes back later, as a stolen one does. */
  async function spentLongAgo(token: string) {
    const seconds = service.runtime.settings.refreshTokenReuseGraceSeconds + 60;
    const hash = createHash("sha256").update(token).digest("hex");
    await service.runtime.orm.em
      .fork()
      .getConnection()
      .execute(`update refresh_tokens set used_at = used_at - ? * interval '1 second' where token_hash = ?`, [seconds, hash]);
  }

  const refresh = (token: string) => service.gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(REFRESH, { t: token });

  it("rotates refresh tokens and revokes the family when a spent token is reused later", async () => {
    const first = await register();
    const second = await refresh(first.refreshToken);
    expect(second.errors).toBeUndefined();
    const next = second.data!.refreshToken.refreshToken;
    expect(next).not.toBe(first.refreshToken);
    // The stolen (spent) token comes back: refused, and the legitimate newer token dies with it.
    await spentLongAgo(first.refreshToken);
    const reuse = await refresh(first.refreshToken);
    expect(reuse.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const afterTheft = await refresh(next);
    expect(afterTheft.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("answers one refresh token presented several times at once, each with its own new token of the family", async () => {
    const first = await register();
    // Two tabs (or a retry) presenting the same token concurrently: every call is answered.
    const answers = await Promise.all([1, 2, 3, 4].map(() => refresh(first.refreshToken)));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const tokens = answers.map((answer) => answer.data!.refreshToken.refreshToken);
    expect(new Set([first.refreshToken, ...tokens]).size).toBe(tokens.length + 1);
    // None of the new tokens was revoked by the others: each rotates in turn (concurrently too).
    const rotated = await Promise.all(tokens.map((token) => refresh(token)));
    for (const answer of rotated) expect(answer.errors).toBeUndefined();
    // Presented again after the grace, the first token is a replay: the whole family goes, every branch of it.
    await spentLongAgo(first.refreshToken);
    expect((await refresh(first.refreshToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    for (const answer of await Promise.all(rotated.map((r) => refresh(r.data!.refreshToken.refreshToken)))) {
      expect(answer.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    }
  });

  it("answers a client retrying with its just-rotated token after a lost response, without revoking the first answer", async () => {
    const first = await register();
    const lost = await refresh(first.refreshToken);
    const retry = await refresh(first.refreshToken);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.refreshToken.refreshToken).not.toBe(lost.data!.refreshToken.refreshToken);
    expect((await refresh(retry.data!.refreshToken.refreshToken)).errors).toBeUndefined();
    expect((await refresh(lost.data!.refreshToken.refreshToken)).errors).toBeUndefined();
  });

  it("answers a just-rotated token only a few times: one presentation more is a replay that revokes the family", async () => {
    const first = await register();
    const answers = [];
    for (let i = 0; i < 1 + MAX_REUSE_ANSWERS; i++) answers.push(await refresh(first.refreshToken));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    expect((await refresh(first.refreshToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    for (const answer of answers)
      expect((await refresh(answer.data!.refreshToken.refreshToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("revokes a token that a sibling's rotation issues while the family is being revoked", async () => {
    const first = await register();
    const second = (await refresh(first.refreshToken)).data!.refreshToken.refreshToken;
    await spentLongAgo(first.refreshToken);
    const grace = service.runtime.settings.refreshTokenReuseGraceSeconds;
    // A rotation of the second token, held open after issuing its successor…
    const rotating = service.runtime.orm.em.fork();
    await rotating.begin();
    const spent = await rotateRefreshToken(rotating, second, grace);
    const successor = RefreshToken.issue(spent.userId, spent.familyId, 600);
    rotating.persist(successor.entity);
    await rotating.flush();
    // …while the stolen first token is replayed: the family's revocation must include the successor.
    const replay = service.runtime.orm.em.fork().transactional(async (tx) => {
      await rotateRefreshToken(tx, first.refreshToken, grace).then(
        () => "answered",
        (error: Error) => error.message,
      );
    });
    // Commit only once the replay is waiting on a lock (the family's, or a row the rotation holds).
    const waiting = async () =>
      (
        await service.runtime.orm.em
          .fork()
          .getConnection()
          .execute<{ n: number }[]>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)
      )[0]!.n > 0;
    for (const deadline = Date.now() + 10_000; !(await waiting());) {
      if (Date.now() > deadline) throw new Error("the replay never waited for the rotation");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await rotating.commit();
    await replay;
    const [row] = await service.runtime.orm.em
      .fork()
      .getConnection()
      .execute<{ revoked: boolean }[]>(`select revoked_at is not null as revoked from refresh_tokens where token_hash = ?`, [
        RefreshToken.hash(successor.token),
      ]);
    expect(row!.revoked).toBe(true);
  });

  it("gives no grace to a just-rotated token once its family is revoked", async () => {
    const first = await register();
    const second = (await refresh(first.refreshToken)).data!.refreshToken.refreshToken;
    const third = (await refresh(second)).data!.refreshToken.refreshToken;
    await spentLongAgo(second);
    expect((await refresh(second)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    // The first token was spent only just now, but its family was revoked: no new token from it.
    expect((await refresh(first.refreshToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await refresh(third)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("answers me for the caller and null for anonymous", async () => {
    const { user } = await register();
    const me = await service.gql<{ me: { id: string } | null }>(`{ me { id } }`, {}, asUser(user.id));
    expect(me.data?.me?.id).toBe(user.id);
    const anonymous = await service.gql<{ me: null }>(`{ me { id } }`);
    expect(anonymous.data?.me).toBeNull();
  });

  it("lets only an ADMIN change roles", async () => {
    const { user } = await register();
    const query = `mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { role } }`;
    const byCustomer = await service.gql(query, { id: user.id }, asUser(user.id, "CUSTOMER"));
    expect(byCustomer.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const anonymous = await service.gql(query, { id: user.id });
    expect(anonymous.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const byAdmin = await service.gql<{ setUserRole: { role: string } }>(
      query,
      { id: user.id },
      asUser("00000000-0000-4000-8000-000000000000", "ADMIN"),
    );
    expect(byAdmin.data?.setUserRole.role).toBe("STAFF");
  });

  it("answers NOT_FOUND to setUserRole for an unknown or malformed user id", async () => {
    const query = `mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { role } }`;
    const admin = asUser("00000000-0000-4000-8000-000000000000", "ADMIN");
    for (const id of ["xx", "00000000-0000-4000-8000-00000000000z", "4b5c4f0e-8d9a-4f7e-9c1a-2b3c4d5e6f70"]) {
      const result = await service.gql(query, { id }, admin);
      expect(result.errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", field: "userId" });
    }
  });

  it("creates the bootstrap admin from configuration", async () => {
    const login = await service.gql<{ login: { accessToken: string } }>(LOGIN, { e: "root@example.com", p: "root-password-123" });
    expect(login.errors).toBeUndefined();
  });

  it("refuses requests that do not carry the gateway's signature", async () => {
    const response = await fetch(service.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    expect(response.status).toBe(401);
    const forged = await fetch(service.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-commerce-identity": Buffer.from(JSON.stringify(asUser("x", "ADMIN"))).toString("base64url"),
        "x-commerce-timestamp": String(Math.floor(Date.now() / 1000)),
        "x-commerce-signature": "forged",
      },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    expect(forged.status).toBe(401);
  });

  it("resolves User references in one batch", async () => {
    const users = await Promise.all([register(), register(), register()]);
    const representations = users.map(({ user }) => ({ __typename: "User", id: user.id }));
    const result = await service.gql<{ _entities: { id: string; email: string }[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }`,
      { r: representations },
      STAFF,
    );
    expect(result.data?._entities.map((u) => u.id)).toEqual(users.map(({ user }) => user.id));
  });

  it("answers a User reference only to the user, STAFF, ADMIN and our services", async () => {
    const { user } = await register();
    const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email role } } }`;
    const ask = (as: Parameters<typeof service.gql>[2]) =>
      service.gql<{ _entities: ({ id: string } | null)[] }>(ENTITY, { r: [{ __typename: "User", id: user.id }] }, as);
    const outcome = async (as: Parameters<typeof service.gql>[2]) => {
      const result = await ask(as);
      return result.errors?.[0].extensions?.code ?? (result.data?._entities[0] ? "data" : "null");
    };
    expect(await outcome(null)).toBe("UNAUTHENTICATED");
    expect(await outcome(asUser("00000000-0000-4000-8000-000000000001"))).toBe("FORBIDDEN");
    expect(await outcome(asUser(user.id))).toBe("data");
    expect(await outcome(STAFF)).toBe("data");
    expect(await outcome(asUser("00000000-0000-4000-8000-000000000002", "ADMIN"))).toBe("data");
    expect(await outcome({ kind: "service", service: "payment" })).toBe("data");
  });

  it("resolves a malformed User reference to null without failing the batch", async () => {
    const { user } = await register();
    const result = await service.gql<{ _entities: ({ id: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`,
      {
        r: [
          { __typename: "User", id: "xx" },
          { __typename: "User", id: user.id },
        ],
      },
      STAFF,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, { id: user.id }]);
  });
});
