import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { rememberOrderName } from "../notification/order-name.entity";

/** Nothing to tell yet: remembers what the customer called the order, for the messages that follow. */
export const orderNameOnOrderPlaced: Handler<EventOf<"order.placed">> = async (event, { em }) => {
  await rememberOrderName(em, event.payload.orderId, event.payload.name);
};
