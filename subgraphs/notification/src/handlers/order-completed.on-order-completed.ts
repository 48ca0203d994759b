import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

/** Tells the customer STAFF completed their order (`completeOrder`). */
export const orderCompletedOnOrderCompleted: EventHandler<"order.completed"> = (event, { em }) => notifyOrderOwner(em, event, "order_completed", {});
