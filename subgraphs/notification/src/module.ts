import { auditLogResolver, type SubgraphModule } from "@commerce/kit";
import { AnalyticsResolver, SalesMetricsSubscriptionResolver } from "./analytics/analytics.resolver";
import { analyticsProjection } from "./analytics/projection";
import type { Channels } from "./delivery/channel";
import { DeliveryJob } from "./delivery/delivery.job";
import { EmailChannel } from "./delivery/email.channel";
import { InAppChannel, SimulatedSmsChannel } from "./delivery/simple.channels";
import { OrderRef, UserRef } from "./federation/stubs";
import { lowStockOnInventoryLowStock } from "./handlers/low-stock.on-inventory-low-stock";
import { orderCancelledOnOrderCancelled } from "./handlers/order-cancelled.on-order-cancelled";
import { orderCompletedOnOrderCompleted } from "./handlers/order-completed.on-order-completed";
import { orderConfirmedOnOrderConfirmed } from "./handlers/order-confirmed.on-order-confirmed";
import { orderNameOnOrderPlaced } from "./handlers/order-name.on-order-placed";
import { orderShippedOnOrderShipped } from "./handlers/order-shipped.on-order-shipped";
import { outOfStockOnInventoryRejected } from "./handlers/out-of-stock.on-inventory-rejected";
import { paymentFailedOnPaymentFailed } from "./handlers/payment-failed.on-payment-failed";
import { recipientOnUserRoleChanged } from "./handlers/recipient.on-user-role-changed";
import { refundOnPaymentRefunded } from "./handlers/refund.on-payment-refunded";
import { returnApprovedOnReturnApproved } from "./handlers/return-approved.on-return-approved";
import { returnReceivedOnReturnReceived } from "./handlers/return-received.on-return-received";
import { returnRefundedOnReturnRefunded } from "./handlers/return-refunded.on-return-refunded";
import { returnRejectedOnReturnRejected } from "./handlers/return-rejected.on-return-rejected";
import { returnRequestedOnReturnRequested } from "./handlers/return-requested.on-return-requested";
import { welcomeOnUserRegistered } from "./handlers/welcome.on-user-registered";
import { migrations } from "./migrations";
import { DeliveryAttempt } from "./notification/delivery-attempt.entity";
import { Notification } from "./notification/notification.entity";
import { OrderNotificationsResolver, UserNotificationsResolver } from "./notification/notification.resolver";
import { NotificationSubscriptionResolver } from "./notification/notification.subscription";
import { OrderCancellation } from "./notification/order-cancellation.entity";
import { OrderName } from "./notification/order-name.entity";
import { Preferences } from "./preferences/preferences.entity";
import { PreferencesResolver, UserPreferencesResolver } from "./preferences/preferences.resolver";
import { Recipient } from "./recipient/recipient.entity";
import { readSettings, type NotificationSettings } from "./settings";
import { seedDefaultTemplates, Template } from "./template/template.entity";
import { TemplateResolver } from "./template/template.resolver";

/** The notification subgraph: templates, preferences, notifications and their delivery. */
export const notificationSubgraph: SubgraphModule<NotificationSettings> = {
  name: "notification",
  entities: [Recipient, Preferences, Template, Notification, DeliveryAttempt, OrderCancellation, OrderName],
  migrations,
  resolvers: [
    AnalyticsResolver,
    SalesMetricsSubscriptionResolver,
    NotificationSubscriptionResolver,
    TemplateResolver,
    PreferencesResolver,
    UserPreferencesResolver,
    UserNotificationsResolver,
    OrderNotificationsResolver,
    auditLogResolver("notificationAuditLog", "notification"),
  ],
  // Reached only through federation (`_entities`), not from Query or Mutation.
  orphanedTypes: [OrderRef, UserRef],
  settings: readSettings,
  prepare: async (runtime) => seedDefaultTemplates(runtime.orm.em.fork()),
  consumes: {
    streams: ["user", "product", "order", "payment"],
    // Handlers only create PENDING rows; the delivery job sends them.
    handlers: {
      "user.registered": welcomeOnUserRegistered,
      "user.role_changed": recipientOnUserRoleChanged,
      "order.placed": orderNameOnOrderPlaced,
      "order.confirmed": orderConfirmedOnOrderConfirmed,
      "order.cancelled": orderCancelledOnOrderCancelled,
      "order.shipped": orderShippedOnOrderShipped,
      "order.completed": orderCompletedOnOrderCompleted,
      "return.requested": returnRequestedOnReturnRequested,
      "return.approved": returnApprovedOnReturnApproved,
      "return.rejected": returnRejectedOnReturnRejected,
      "return.received": returnReceivedOnReturnReceived,
      "return.refunded": returnRefundedOnReturnRefunded,
      "payment.failed": paymentFailedOnPaymentFailed,
      "payment.refunded": refundOnPaymentRefunded,
      "inventory.rejected": outOfStockOnInventoryRejected,
      "inventory.low_stock": lowStockOnInventoryLowStock,
    },
  },
  // Sales analytics live here: its own tables and consumer group, on the one service nothing in the saga waits for.
  projections: [analyticsProjection],
  // `notification.created` only feeds live `myNotifications` subscribers: an hour of it is plenty.
  feedRetentionMs: 3_600_000,
  jobs: (runtime) => {
    const channels: Channels = {
      EMAIL: new EmailChannel(runtime.settings.smtpUrl, runtime.settings.smtpFrom),
      IN_APP: new InAppChannel(),
      SMS: new SimulatedSmsChannel(runtime.logger.child({ component: "sms" })),
    };
    return [new DeliveryJob(runtime, channels)];
  },
};
