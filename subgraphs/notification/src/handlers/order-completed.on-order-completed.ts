import { orderStatusNotification } from "./order-status";

/** Tells the customer STAFF completed their order (`completeOrder`). */
export const orderCompletedOnOrderCompleted = orderStatusNotification("order_completed");
