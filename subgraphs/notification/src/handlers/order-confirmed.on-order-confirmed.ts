import { formatMoney, type EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const orderConfirmedOnOrderConfirmed: EventHandler<"order.confirmed"> = (event, { em }) =>
  notifyOrderOwner(em, event, "order_confirmed", { total: formatMoney(event.payload.total) });
