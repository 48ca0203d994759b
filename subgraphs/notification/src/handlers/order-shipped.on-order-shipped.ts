import type { EventHandler } from "@commerce/kit";
import { notifyOrderStatus } from "./order-status";

/** Tells the customer their order left the warehouse (`shipOrder`). */
export const orderShippedOnOrderShipped: EventHandler<"order.shipped"> = (event, ctx) => notifyOrderStatus("order_shipped", event, ctx);
