/**
 * `register`, `login` and `refreshToken` sign the caller in for the rest of the same operation:
 * `AuthPayload.user`'s fields resolved by other subgraphs with an ownership check (wallet,
 * notification preferences, orders) answer as for that signed-in user, through the gateway.
 */
import { randomUUID } from "node:crypto";
import { startPlatform, type Platform } from "@commerce/testing";
import { GraphQLClient } from "@commerce/testing/e2e";

let platform: Platform;
let anonymous: GraphQLClient;

beforeAll(async () => {
  platform = await startPlatform();
  anonymous = new GraphQLClient(platform.gatewayUrl);
}, 120_000);
afterAll(() => platform?.stop());

const PASSWORD = "sign-in-password-123";
const PRIVATE_FIELDS = `id email wallet { balance { amount currency } } notificationPreferences { email inApp sms } orders { totalCount }`;

type PrivateUser = {
  id: string;
  email: string;
  wallet: { balance: { amount: number; currency: string } };
  notificationPreferences: { email: boolean; inApp: boolean; sms: boolean };
  orders: { totalCount: number };
};

/** What a user's own private fields show right after registering (platform defaults). */
const freshUser = (email: string) => ({
  id: expect.any(String),
  email,
  // WALLET_OPENING_BALANCE of the test platform: the wallet is non-null even before user.registered is consumed.
  wallet: { balance: { amount: 100_000, currency: "USD" } },
  notificationPreferences: { email: true, inApp: true, sms: false },
  orders: { totalCount: 0 },
});

async function register(selection: string) {
  const email = `sign-in-${randomUUID().slice(0, 8)}@example.com`;
  const answer = await anonymous.raw<{ register: { refreshToken: string; user: PrivateUser } }>(
    `mutation($input: RegisterInput!) { register(input: $input) { ${selection} } }`,
    { input: { email, password: PASSWORD, name: "Sign-in" } },
  );
  return { email, answer };
}

it("register answers the new user's own wallet, notification preferences and orders in the same operation", async () => {
  // No accessToken selected: the client need not ask for it for the nested fields to resolve.
  const { email, answer } = await register(`refreshToken user { ${PRIVATE_FIELDS} }`);
  expect(answer.errors).toBeUndefined();
  expect(answer.data?.register.user).toEqual(freshUser(email));
  // The gateway's internal sign-in report never reaches the client.
  expect(answer).not.toHaveProperty("extensions");
});

it("refreshToken with a federated user field returns a new refresh token that works", async () => {
  const { email, answer } = await register(`refreshToken user { id }`);
  const first = answer.data!.register.refreshToken;

  const refreshed = await anonymous.raw<{ refreshToken: { accessToken: string; refreshToken: string; user: PrivateUser } }>(
    `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken user { ${PRIVATE_FIELDS} } } }`,
    { r: first },
  );
  expect(refreshed.errors).toBeUndefined();
  expect(refreshed.data?.refreshToken.user).toEqual({ ...freshUser(email), id: answer.data!.register.user.id });
  const second = refreshed.data!.refreshToken.refreshToken;
  expect(second).not.toBe(first);

  // The new refresh token is usable (the family was not revoked), and so is the new access token.
  const again = await anonymous.request<{ refreshToken: { refreshToken: string } }>(
    `mutation($r: String!) { refreshToken(refreshToken: $r) { refreshToken user { wallet { balance { amount } } } } }`,
    { r: second },
  );
  expect(again.refreshToken.refreshToken).toEqual(expect.any(String));
  const { me } = await anonymous.withToken(refreshed.data!.refreshToken.accessToken).request<{ me: { email: string } }>(`{ me { email } }`);
  expect(me.email).toBe(email);
});

it("login signs the caller in for the rest of the operation; a failed login signs no one in", async () => {
  const { email } = await register(`user { id }`);
  const login = `mutation($e: String!, $p: String!) {
    login(email: $e, password: $p) { user { ${PRIVATE_FIELDS} } }
    updateNotificationPreferences(sms: true) { sms }
  }`;

  // The gateway still sends the second mutation (updateNotificationPreferences): it must be anonymous, as the caller is.
  const failed = await anonymous.raw(login, { e: email, p: "not-the-password" });
  expect(failed.data ?? null).toBeNull();
  const codes = failed.errors?.map((error) => [(error as { path?: string[] }).path?.[0], error.extensions?.code]);
  expect(codes).toContainEqual(["login", "UNAUTHENTICATED"]);
  expect(codes?.every(([, code]) => code === "UNAUTHENTICATED")).toBe(true);

  const signedIn = await anonymous.raw<{ login: { user: PrivateUser }; updateNotificationPreferences: { sms: boolean } }>(login, {
    e: email,
    p: PASSWORD,
  });
  expect(signedIn.errors).toBeUndefined();
  // sms still false when login's user was fetched: the failed attempt changed nothing.
  expect(signedIn.data?.login.user).toEqual(freshUser(email));
  expect(signedIn.data?.updateNotificationPreferences).toEqual({ sms: true });
});
