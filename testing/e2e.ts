/**
 * Helpers for end-to-end tests that drive the whole platform through the
 * gateway only, as a client would.
 */
import { TEST_CARDS } from "@commerce/payment";

export { ADMIN, GraphQLClient, createProduct, login, placeOrder, resetE2eState, signUp, waitForStatus, type Account } from "@commerce/ops";
export { eventually } from "./index";

/** A `CardInput` of the simulated processor: its approved test card unless another is named. */
export function testCard(number: string = TEST_CARDS.approved) {
  return { number, expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: "123" };
}
