import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import {
  ForbiddenError,
  UnauthenticatedError,
  connectionType,
  decodeCursor,
  isStaff,
  pageSize,
  requireOwnerOrStaff,
  type Context,
  type ConnectionShape,
} from "@commerce/kit";
import { OrderRef, UserRef } from "../federation/stubs";
import { Notification } from "./notification.entity";
import { notificationPages, notificationsByOrderId } from "./notification.loaders";

export const NotificationConnection = connectionType("Notification", Notification);

@Resolver(() => OrderRef)
export class OrderNotificationsResolver {
  @FieldResolver(() => [Notification], { description: "What the customer was told about this order, oldest first (owner, STAFF, ADMIN)." })
  async notifications(@Root() order: OrderRef, @Ctx() ctx: Context): Promise<Notification[]> {
    if (!ctx.identity) throw new UnauthenticatedError();
    const notifications = await notificationsByOrderId(ctx).load(order.id);
    // Every notification of an order goes to its owner, so any row names the owner.
    if (notifications.length) requireOwnerOrStaff(ctx, notifications[0].userId);
    return notifications;
  }
}

@Resolver(() => UserRef)
export class UserNotificationsResolver {
  @FieldResolver(() => NotificationConnection, { description: "The user's notifications, newest first (the user, STAFF, ADMIN)." })
  async notifications(
    @Root() user: UserRef,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Notification>> {
    if (!ctx.identity) throw new UnauthenticatedError();
    if (!isStaff(ctx.identity) && (ctx.identity.kind !== "user" || ctx.identity.userId !== user.id)) {
      throw new ForbiddenError("You can only see your own notifications.");
    }
    return notificationPages(ctx).load({ userId: user.id, size: pageSize(first), after: decodeCursor(after, "notifications") });
  }
}
