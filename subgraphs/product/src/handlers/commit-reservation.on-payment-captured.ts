import type { EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { commitReservation } from "../reservation/reservation.sql";

/**
 * payment.captured → the held units leave the warehouse (RESERVED → COMMITTED),
 * in one statement. A capture that arrives after a cancellation released the
 * stock does nothing: the payment service refunds that order. Available stays
 * the same (on hand and reserved both drop), so no low-stock check.
 */
export const commitReservationOnPaymentCaptured: EventHandler<"payment.captured"> = async (event, { em, emit, logger }) => {
  const { orderId } = event.payload;
  if (!(await commitReservation(em, orderId))) {
    logger.info({ orderId }, "payment.captured without a held reservation: nothing to commit");
    return;
  }
  emit(createEvent("inventory.committed", { orderId }, { correlationId: orderId, causation: event }));
};
