import { Resolver, Root, Subscription } from "type-graphql";
import { Notification } from "./notification.entity";

/**
 * Declared here so it composes into the supergraph; the gateway serves it over graphql-ws from the
 * `notification.created` events this service writes with each in-app notification (gateway/src/subscriptions).
 */
@Resolver(() => Notification)
export class NotificationSubscriptionResolver {
  @Subscription(() => Notification, {
    topics: "MY_NOTIFICATIONS",
    description: "Each in-app notification of the caller, as it is written (signed-in users; only their own).",
  })
  myNotifications(@Root() notification: Notification): Notification {
    return notification;
  }
}
