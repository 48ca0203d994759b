import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

/** Tells the customer their order left the warehouse (`shipOrder`). */
export const orderShippedOnOrderShipped: EventHandler<"order.shipped"> = (event, { em }) => notifyOrderOwner(em, event, "order_shipped", {});
