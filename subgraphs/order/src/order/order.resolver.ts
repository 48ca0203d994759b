import { LockMode } from "@mikro-orm/core";
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import {
  assertNoControlCharacters,
  BadUserInputError,
  ConflictError,
  NotFoundError,
  ForbiddenError,
  audit,
  connectionType,
  isStaff,
  requireOwnerOrStaff,
  requireRole,
  requireUser,
  type ConnectionShape,
  type Context,
  type Runtime,
  isUuid,
  upToStatus,
} from "@commerce/kit";
import { Order, type OrderTrigger } from "./order.entity";
import { OrderItem } from "./order-item.entity";
import { OrderStatusChange } from "./order-status-change.entity";
import { OrderFilter, PlaceOrderInput, validatePlaceOrder } from "./order.inputs";
import { historyLoader, itemsLoader, listOrders, orderByIdLoader } from "./order.queries";
import { placeOrder } from "./place-order";
import { transition } from "./order.transitions";

export const OrderConnection = connectionType("Order", Order);
const MAX_REASON_LENGTH = 500;

@Resolver(() => Order)
export class OrderResolver {
  constructor(private readonly runtime: Runtime<unknown>) {}

  @Query(() => Order, { nullable: true, description: "The owner, STAFF and ADMIN may read an order; null when it does not exist." })
  async order(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Order | null> {
    requireUser(ctx);
    const order = await orderByIdLoader(ctx).load(id);
    if (order) requireOwnerOrStaff(ctx, order.userId);
    return order;
  }

  @Query(() => OrderConnection, { description: "Newest first. Customers see their own orders; STAFF and ADMIN see all." })
  async orders(
    @Ctx() ctx: Context,
    @Arg("filter", () => OrderFilter, { nullable: true }) filter?: OrderFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionShape<Order>> {
    const user = requireUser(ctx);
    const userId = filter?.userId ?? undefined;
    if (userId && !isUuid(userId)) throw new BadUserInputError("userId is not a user id.", "filter.userId");
    if (!isStaff(user) && userId && userId !== user.userId) throw new ForbiddenError("Only STAFF and ADMIN may list another customer's orders.");
    if (filter?.createdFrom && filter.createdTo && filter.createdFrom > filter.createdTo) {
      throw new BadUserInputError("createdFrom must not be after createdTo.", "filter.createdFrom");
    }
    return listOrders(ctx.em, { ...filter, userId: isStaff(user) ? userId : user.userId }, first, after);
  }

  @Mutation(() => Order, { description: "Returns the order PENDING at once; the saga runs on. Same idempotencyKey, same order." })
  async placeOrder(@Arg("input", () => PlaceOrderInput) input: PlaceOrderInput, @Ctx() ctx: Context): Promise<Order> {
    const user = requireUser(ctx);
    return placeOrder(this.runtime, ctx.em, user, validatePlaceOrder(input));
  }

  @Mutation(() => Order, { description: "The owner, STAFF or ADMIN; allowed before SHIPPED, CONFLICT after." })
  async cancelOrder(
    @Arg("id", () => ID) id: string,
    @Ctx() ctx: Context,
    @Arg("reason", () => String, { nullable: true }) reason?: string | null,
  ): Promise<Order> {
    const user = requireUser(ctx);
    const text = reason?.trim() || null;
    if (text && text.length > MAX_REASON_LENGTH) throw new BadUserInputError(`reason must be at most ${MAX_REASON_LENGTH} characters.`, "reason");
    if (text) assertNoControlCharacters(text, "reason");
    const trigger: OrderTrigger = {
      type: "cancel",
      reason: text ?? (isStaff(user) ? "cancelled by staff" : "cancelled by customer"),
      expired: false,
    };
    return this.change(ctx, id, trigger, (order) => requireOwnerOrStaff(ctx, order.userId));
  }

  @Mutation(() => Order, { description: "STAFF or ADMIN, from CONFIRMED." })
  async shipOrder(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Order> {
    requireRole(ctx, "STAFF", "ADMIN");
    // Like cancelOrder's default reason: the history says a person moved it, not the saga.
    return this.change(ctx, id, { type: "ship", reason: "shipped by staff" });
  }

  @Mutation(() => Order, { description: "STAFF or ADMIN, from SHIPPED." })
  async completeOrder(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Order> {
    requireRole(ctx, "STAFF", "ADMIN");
    return this.change(ctx, id, { type: "complete", reason: "completed by staff" });
  }

  @FieldResolver(() => [OrderItem])
  items(@Root() order: Order, @Ctx() ctx: Context): Promise<OrderItem[]> {
    return itemsLoader(ctx).load(order.id);
  }

  /**
   * As of the order row it is shown with. The row and its history are two reads, so a change that
   * commits between them is in the history but not in the row: the client saw `status: STOCK_RESERVED`
   * beside a history ending in CONFIRMED, and a subscription, which takes the first message's history
   * for what it has already sent, skipped that change for good. The rest comes with the next read.
   */
  @FieldResolver(() => [OrderStatusChange], { description: "Oldest first; its last entry is the order's status." })
  async statusHistory(@Root() order: Order, @Ctx() ctx: Context): Promise<OrderStatusChange[]> {
    return upToStatus(await historyLoader(ctx).load(order.id), order.status);
  }

  /** Loads the order locked for the rest of the transaction, checks access, applies `trigger` or says why not. */
  private change(ctx: Context, id: string, trigger: OrderTrigger, authorize: (order: Order) => void = () => undefined): Promise<Order> {
    const user = requireUser(ctx);
    return this.runtime.commit(ctx.em, async (tx, emit) => {
      // The row lock serialises this with saga handlers and the expiry job touching the same order.
      const order = isUuid(id) ? await tx.findOne(Order, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true }) : null;
      if (!order) throw new NotFoundError("Order", id, "id");
      authorize(order);
      const previousStatus = order.status;
      if (!transition(tx, emit, order, trigger, { actor: `user:${user.userId}` })) {
        throw new ConflictError(`Order ${id} is ${order.status}: ${trigger.type} is not possible from this status.`, { status: order.status });
      }
      if (trigger.type === "cancel") {
        // Correlated by the order id: the refund and release it causes carry the same id.
        audit(tx, ctx, {
          action: "order.cancelled",
          targetType: "Order",
          targetId: order.id,
          correlationId: order.id,
          details: { reason: trigger.reason, previousStatus, ownerId: order.userId, expired: false },
        });
      } else {
        audit(tx, ctx, {
          action: `order.${order.status.toLowerCase()}`,
          targetType: "Order",
          targetId: order.id,
          correlationId: order.id,
          details: { reason: "reason" in trigger ? (trigger.reason ?? null) : null, previousStatus, ownerId: order.userId },
        });
      }
      return order;
    });
  }
}
