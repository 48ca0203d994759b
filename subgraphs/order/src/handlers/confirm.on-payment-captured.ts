import type { EventHandler } from "@commerce/kit";
import { advanceOrder } from "./advance-order";

/**
 * Paid: STOCK_RESERVED → CONFIRMED. Payment charges only after
 * `inventory.reserved`, but the two travel on different streams, so the
 * capture may arrive first: then the reservation it implies is recorded first.
 */
export const confirmOnPaymentCaptured: EventHandler<"payment.captured"> = (event, ctx) =>
  advanceOrder(
    event,
    event.payload.orderId,
    [{ type: "stock_reserved", reason: "implied by payment.captured (arrived before inventory.reserved)" }, { type: "payment_captured" }],
    ctx,
  );
