import { LockMode } from "@mikro-orm/core";
import type { EventHandler } from "@commerce/kit";
import { ReturnRequest } from "../returns/return-request.entity";
import { transitionReturn } from "../returns/return.transitions";

/** The refund of a received return landed in the wallet: RECEIVED → REFUNDED, with what was refunded. */
export const markRefundedOnPaymentReturnRefunded: EventHandler<"payment.return_refunded"> = async (event, ctx) => {
  const { em } = ctx;
  const { returnId, amount } = event.payload;
  const request = await em.findOne(ReturnRequest, { id: returnId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  const log = ctx.logger.child({ eventId: event.id, correlationId: event.correlationId, returnId });
  if (!request) {
    log.warn("refund of an unknown return ignored");
    return;
  }
  if (!transitionReturn(em, ctx.emit, request, { type: "refund", amount }, { event })) {
    log.info({ status: request.status }, "refund ignored: the return is not waiting for one");
  }
};
