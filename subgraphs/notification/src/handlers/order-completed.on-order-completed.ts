import type { EventHandler } from "@commerce/kit";
import { notifyOrderStatus } from "./order-status";

/** Tells the customer STAFF completed their order (`completeOrder`). */
export const orderCompletedOnOrderCompleted: EventHandler<"order.completed"> = (event, ctx) => notifyOrderStatus("order_completed", event, ctx);
