import { orderStatusNotification } from "./order-status";

export const orderShippedOnOrderShipped = orderStatusNotification("order_shipped");
