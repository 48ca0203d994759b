import { formatMoney, type EventHandler } from "@commerce/kit";
import { notifyReturn } from "./return-status";

export const returnRefundedOnReturnRefunded: EventHandler<"return.refunded"> = (event, ctx) =>
  notifyReturn("return_refunded", event, ctx, { amount: formatMoney(event.payload.amount) });
