import { createEvent, type Handler } from "@commerce/streams";
import { Reservation } from "../reservation/reservation.entity";
import { lockOrder } from "../stock/stock.locks";
import { applyToLines } from "./reservation-stock";

/**
 * payment.captured → the held units leave the warehouse (RESERVED → COMMITTED).
 * A capture that arrives after a cancellation released the stock does nothing:
 * the payment service refunds that order.
 */
export const commitReservationOnPaymentCaptured: Handler = async (event, { em, emit, logger }) => {
  if (event.type !== "payment.captured") return;
  const { orderId } = event.payload;
  await lockOrder(em, orderId);
  const reservation = await em.findOne(Reservation, { orderId });
  if (!reservation || !reservation.commit()) {
    logger.info({ orderId, status: reservation?.status ?? null }, "payment.captured without a held reservation: nothing to commit");
    return;
  }
  // Available stays the same (on hand and reserved both drop), so no low-stock check.
  await applyToLines(em, reservation, (level, quantity) => level.commit(quantity));
  emit(createEvent("inventory.committed", { orderId }, { correlationId: orderId, causation: event }));
};
