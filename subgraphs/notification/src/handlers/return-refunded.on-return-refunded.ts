import type { EventOf } from "@commerce/schema";
import { formatMoney } from "@commerce/kit";
import { returnNotification } from "./return-status";

export const returnRefundedOnReturnRefunded = returnNotification<EventOf<"return.refunded">, "return_refunded">("return_refunded", (p) => ({
  amount: formatMoney(p.amount),
}));
