import { randomUUID } from "node:crypto";
import type { Money } from "@commerce/kit";

/** A card as a customer enters it; never stored (only its last four digits reach the ledger and the audit log). */
export interface Card {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** Why a card payment was refused; the customer is told which, nothing else. */
export type DeclineReason = "CARD_DECLINED" | "INSUFFICIENT_FUNDS";

export type CardChargeOutcome = { kind: "approved"; reference: string } | { kind: "declined"; reason: DeclineReason };

/**
 * The payment provider behind card top-ups: takes money from a card. `idempotencyKey` makes a retried
 * charge one charge at a provider that supports it.
 */
export interface PaymentProvider {
  charge(card: Card, amount: Money, idempotencyKey: string): Promise<CardChargeOutcome>;
}

/** The simulated processor's documented test cards (the numbers card networks reserve for tests). */
export const TEST_CARDS = {
  /** Always approved. */
  approved: "4242424242424242",
  /** Always declined: PAYMENT_DECLINED, reason CARD_DECLINED. */
  declined: "4000000000000002",
  /** Always declined for insufficient funds: PAYMENT_DECLINED, reason INSUFFICIENT_FUNDS. */
  insufficientFunds: "4000000000009995",
} as const;

/**
 * A card processor without a card network: it approves {@link TEST_CARDS}.approved, declines the two
 * declining test cards with their reason, and declines every other number (it knows no real card).
 */
export class SimulatedCardProcessor implements PaymentProvider {
  async charge(card: Card): Promise<CardChargeOutcome> {
    switch (card.number) {
      case TEST_CARDS.approved:
        return { kind: "approved", reference: `sim_${randomUUID()}` };
      case TEST_CARDS.insufficientFunds:
        return { kind: "declined", reason: "INSUFFICIENT_FUNDS" };
      default:
        return { kind: "declined", reason: "CARD_DECLINED" };
    }
  }
}
