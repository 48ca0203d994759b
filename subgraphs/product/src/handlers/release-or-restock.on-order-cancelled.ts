import type { EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { Reservation } from "../reservation/reservation.entity";
import { checkLowStock } from "../stock/low-stock";
import { lockReservation } from "../stock/stock.locks";
import { applyToLines } from "./reservation-stock";

/**
 * order.cancelled → give the stock back: held units are released, committed
 * (paid) units go back on the shelf. When no reservation exists yet the
 * cancellation overtook order.placed: a tombstone makes that late order.placed
 * reserve nothing.
 */
export const releaseOrRestockOnOrderCancelled: EventHandler<"order.cancelled"> = async (event, { em, emit, logger }) => {
  const { orderId, userId, reason } = event.payload;
  const meta = { correlationId: orderId, causation: event };
  const reservation = await lockReservation(em, orderId, Reservation.tombstone(orderId, userId, reason));
  if (!reservation) return;
  const outcome = reservation.cancel(reason);
  switch (outcome) {
    case "released": {
      const levels = await applyToLines(em, reservation, (level, quantity) => level.release(quantity));
      await checkLowStock(em, reservation.productIds(), levels, emit, meta);
      emit(createEvent("inventory.released", { orderId, reason }, meta));
      return;
    }
    case "restocked": {
      const levels = await applyToLines(em, reservation, (level, quantity) => level.restock(quantity));
      await checkLowStock(em, reservation.productIds(), levels, emit, meta);
      emit(createEvent("inventory.restocked", { orderId }, meta));
      return;
    }
    case "nothing":
      logger.info({ orderId, status: reservation.status }, "order.cancelled: no stock held for this order");
      return;
    default: {
      const unreachable: never = outcome;
      throw new Error(`unhandled cancel outcome ${String(unreachable)}`);
    }
  }
};
