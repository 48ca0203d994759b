import { Arg, ID, Resolver, Root, Subscription } from "type-graphql";
import { Order } from "./order.entity";

/**
 * Declares the subscriptions so they compose into the supergraph (and show in
 * Sandbox). They are served by the gateway over graphql-ws, which re-resolves
 * each status change through the supergraph (gateway/src/subscriptions); this
 * subgraph never executes them.
 */
@Resolver(() => Order)
export class OrderSubscriptionResolver {
  @Subscription(() => Order, {
    topics: "ORDER_STATUS_CHANGED",
    description: "The order's current state, then one event per status change; completes after a terminal status. Owner, STAFF, ADMIN.",
  })
  orderStatusChanged(@Arg("orderId", () => ID) _orderId: string, @Root() order: Order): Order {
    return order;
  }

  @Subscription(() => Order, {
    topics: "MY_ORDER_UPDATES",
    description: "Every status change of the caller's own orders (STAFF/ADMIN: of all orders).",
  })
  myOrderUpdates(@Root() order: Order): Order {
    return order;
  }
}
