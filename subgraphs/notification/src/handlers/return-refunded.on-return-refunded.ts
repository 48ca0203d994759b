import { formatMoney, type EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const returnRefundedOnReturnRefunded: EventHandler<"return.refunded"> = (event, { em }) =>
  notifyOrderOwner(em, event, "return_refunded", { amount: formatMoney(event.payload.amount) });
