import type { EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { checkLowStock } from "../stock/low-stock";
import { lockReservation } from "../stock/stock.locks";
import { applyToLines } from "./reservation-stock";

/** payment.failed → the held units are free again (RESERVED → RELEASED). Stale or duplicate failures do nothing. */
export const releaseReservationOnPaymentFailed: EventHandler<"payment.failed"> = async (event, { em, emit, logger }) => {
  const { orderId, reason } = event.payload;
  const reservation = await lockReservation(em, orderId);
  const why = `payment failed: ${reason}`;
  if (!reservation || !reservation.release(why)) {
    logger.info({ orderId, status: reservation?.status ?? null }, "payment.failed without a held reservation: nothing to release");
    return;
  }
  const meta = { correlationId: orderId, causation: event };
  const levels = await applyToLines(em, reservation, (level, quantity) => level.release(quantity));
  await checkLowStock(em, reservation.productIds(), levels, emit, meta);
  emit(createEvent("inventory.released", { orderId, reason: why }, meta));
};
