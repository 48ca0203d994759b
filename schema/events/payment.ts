import { z } from "zod";
import { Id, Money } from "./common";

/** Contracts of the `payment` stream. */
export const paymentContracts = {
  "payment.captured": {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money, invoiceNumber: z.string().min(1) }),
  },
  "payment.failed": {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money, reason: z.string() }),
  },
  "payment.refunded": {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money }),
  },
  /**
   * A received return's refund went to the wallet (once per return). `amount` is the returned units'
   * price, capped so an order's refunds never pass its capture; 0 (and `paymentId` null) when nothing
   * is left to refund.
   */
  "payment.return_refunded": {
    1: z.object({ returnId: Id, orderId: Id, userId: Id, paymentId: Id.nullable(), amount: Money }),
  },
} as const;
