import type { EventHandler } from "@commerce/kit";
import { advanceOrder } from "./advance-order";

/** Payment refused: STOCK_RESERVED → PAYMENT_FAILED with the payment's reason (see confirm.on-payment-captured for the implied step). */
export const markPaymentFailedOnPaymentFailed: EventHandler<"payment.failed"> = (event, ctx) =>
  advanceOrder(
    event,
    event.payload.orderId,
    [
      { type: "stock_reserved", reason: "implied by payment.failed (arrived before inventory.reserved)" },
      { type: "payment_failed", reason: event.payload.reason },
    ],
    ctx,
  );
