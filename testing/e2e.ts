/**
 * Helpers for end-to-end tests that drive the whole platform through the
 * gateway only, as a client would.
 */
import { ADMIN, login, resetE2eState, type Account } from "@commerce/ops";
import { TEST_CARDS } from "@commerce/payment";
import { startPlatform, type Platform, type StartPlatformOptions } from "./index";

export { ADMIN, GraphQLClient, createProduct, login, placeOrder, resetE2eState, signUp, waitForStatus, type Account } from "@commerce/ops";
export { eventually } from "./index";

/** The whole platform for one test file (see `startPlatform`), with the bootstrap admin signed in. */
export async function startPlatformWithAdmin(options?: StartPlatformOptions): Promise<{ platform: Platform; admin: Account }> {
  resetE2eState();
  const platform = await startPlatform(options);
  return { platform, admin: await login(platform.gatewayUrl, ADMIN.email, ADMIN.password) };
}

/** Registers the hooks of a test file on the whole platform with the admin signed in (fields set by its `beforeAll`). */
export function usePlatformWithAdmin(options?: StartPlatformOptions): { platform: Platform; admin: Account } {
  const e2e = {} as { platform: Platform; admin: Account };
  beforeAll(async () => {
    Object.assign(e2e, await startPlatformWithAdmin(options));
  }, 120_000);
  afterAll(() => e2e.platform?.stop());
  return e2e;
}

/** A `CardInput` of the simulated processor: its approved test card unless another is named. */
export function testCard(number: string = TEST_CARDS.approved) {
  return { number, expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: "123" };
}
