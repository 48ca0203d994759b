import type { EventHandler } from "@commerce/kit";
import { rememberOrderName } from "../notification/order-name.entity";

/** Nothing to tell yet: remembers what the customer called the order, for the messages that follow. */
export const orderNameOnOrderPlaced: EventHandler<"order.placed"> = async (event, { em }) => {
  await rememberOrderName(em, event.payload.orderId, event.payload.name);
};
