import { formatMoney, type EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const paymentFailedOnPaymentFailed: EventHandler<"payment.failed"> = (event, { em }) =>
  notifyOrderOwner(em, event, "payment_failed", { amount: formatMoney(event.payload.amount), reason: event.payload.reason });
