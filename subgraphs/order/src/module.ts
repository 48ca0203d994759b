import { auditLogResolver, type SubgraphModule } from "@commerce/kit";
import { CatalogProduct } from "./catalog/catalog-product.entity";
import { ProductRef, UserRef } from "./federation/stubs";
import { confirmOnPaymentCaptured } from "./handlers/confirm.on-payment-captured";
import { logOnPaymentRefunded } from "./handlers/log.on-payment-refunded";
import { markRefundedOnPaymentReturnRefunded } from "./handlers/refunded.on-payment-return-refunded";
import { markOutOfStockOnInventoryRejected } from "./handlers/out-of-stock.on-inventory-rejected";
import { markPaymentFailedOnPaymentFailed } from "./handlers/payment-failed.on-payment-failed";
import { markReservedOnInventoryReserved } from "./handlers/reserve.on-inventory-reserved";
import { updateCatalogOnProductUpserted } from "./handlers/update-catalog.on-product-upserted";
import { expiryJob } from "./jobs/expire-orders";
import { migrations } from "./migrations";
import { Order } from "./order/order.entity";
import { OrderItem } from "./order/order-item.entity";
import { OrderStatusChange } from "./order/order-status-change.entity";
import { orderReference } from "./order/order.reference";
import { OrderResolver } from "./order/order.resolver";
import { OrderSubscriptionResolver } from "./order/order.subscription";
import { OrderTimelineResolver } from "./order/order-timeline.resolver";
import { UserOrdersResolver } from "./order/user-orders.resolver";
import { ReturnRequest, ReturnStatusChange } from "./returns/return-request.entity";
import { OrderReturnsResolver, ReturnResolver } from "./returns/return.resolver";
import { readSettings, type OrderSettings } from "./settings";

/** The order subgraph: orders, their items and status history, and the saga's view from the order side. */
export const orderSubgraph: SubgraphModule<OrderSettings> = {
  name: "order",
  entities: [Order, OrderItem, OrderStatusChange, CatalogProduct, ReturnRequest, ReturnStatusChange],
  migrations,
  // Subscriptions are declared here for composition; the gateway serves them (see order.subscription.ts).
  resolvers: [
    OrderResolver,
    UserOrdersResolver,
    OrderSubscriptionResolver,
    OrderTimelineResolver,
    ReturnResolver,
    OrderReturnsResolver,
    auditLogResolver("orderAuditLog", "order"),
  ],
  orphanedTypes: [UserRef, ProductRef],
  referenceResolvers: { Order: orderReference },
  settings: readSettings,
  consumes: {
    streams: ["product", "payment"],
    handlers: {
      "product.upserted": updateCatalogOnProductUpserted,
      "inventory.reserved": markReservedOnInventoryReserved,
      "inventory.rejected": markOutOfStockOnInventoryRejected,
      "payment.captured": confirmOnPaymentCaptured,
      "payment.failed": markPaymentFailedOnPaymentFailed,
      "payment.refunded": logOnPaymentRefunded,
      "payment.return_refunded": markRefundedOnPaymentReturnRefunded,
    },
  },
  jobs: (runtime) => [expiryJob(runtime)],
};
