import { LockMode } from "@mikro-orm/core";
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import {
  ConflictError,
  NotFoundError,
  audit,
  connectionType,
  isUuid,
  requireOwnerOrStaff,
  requireRole,
  requireUser,
  type ConnectionShape,
  type Context,
  type Runtime,
} from "@commerce/kit";
import { Order } from "../order/order.entity";
import { orderByIdLoader } from "../order/order.queries";
import type { OrderSettings } from "../settings";
import { requestReturn } from "./request-return";
import { ReturnRequest, ReturnStatusChange } from "./return-request.entity";
import { RequestReturnInput, ReturnFilter, validReason, validateRequestReturn } from "./return.inputs";
import { listReturns, orderReturnsLoader, returnHistoryLoader } from "./return.queries";
import { transitionReturn, type ReturnTrigger } from "./return.transitions";
import { assertWarehouseExists } from "./warehouses";

export const ReturnRequestConnection = connectionType("ReturnRequest", ReturnRequest);

@Resolver(() => ReturnRequest)
export class ReturnResolver {
  constructor(private readonly runtime: Runtime<OrderSettings>) {}

  @Mutation(() => ReturnRequest, { description: "The order's owner, for a SHIPPED or COMPLETED order within RETURN_WINDOW_DAYS of shipping." })
  async requestReturn(@Arg("input", () => RequestReturnInput) input: RequestReturnInput, @Ctx() ctx: Context): Promise<ReturnRequest> {
    const user = requireUser(ctx);
    return requestReturn(this.runtime, ctx, user, validateRequestReturn(input));
  }

  @Mutation(() => ReturnRequest, { description: "STAFF or ADMIN, from REQUESTED." })
  async approveReturn(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<ReturnRequest> {
    requireRole(ctx, "STAFF", "ADMIN");
    return this.change(ctx, id, { type: "approve" });
  }

  @Mutation(() => ReturnRequest, { description: "STAFF or ADMIN, from REQUESTED; the reason is told to the customer." })
  async rejectReturn(@Arg("id", () => ID) id: string, @Arg("reason", () => String) reason: string, @Ctx() ctx: Context): Promise<ReturnRequest> {
    requireRole(ctx, "STAFF", "ADMIN");
    return this.change(ctx, id, { type: "reject", reason: validReason(reason, "reason") });
  }

  @Mutation(() => ReturnRequest, {
    description:
      "STAFF or ADMIN, from APPROVED: the goods are back in the warehouse. Restocks them and refunds their price; REFUNDED when the refund lands.",
  })
  async receiveReturn(
    @Arg("id", () => ID) id: string,
    @Arg("warehouseId", () => ID) warehouseId: string,
    @Ctx() ctx: Context,
  ): Promise<ReturnRequest> {
    requireRole(ctx, "STAFF", "ADMIN");
    await assertWarehouseExists(this.runtime, warehouseId);
    return this.change(ctx, id, { type: "receive", warehouseId });
  }

  @Query(() => ReturnRequestConnection, { description: "STAFF and ADMIN: every return, newest first." })
  async returns(
    @Ctx() ctx: Context,
    @Arg("filter", () => ReturnFilter, { nullable: true }) filter?: ReturnFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionShape<ReturnRequest>> {
    requireRole(ctx, "STAFF", "ADMIN");
    return listReturns(ctx.em, { status: filter?.status }, first, after);
  }

  @FieldResolver(() => Order)
  async order(@Root() request: ReturnRequest, @Ctx() ctx: Context): Promise<Order> {
    const order = await orderByIdLoader(ctx).load(request.orderId);
    if (!order) throw new Error(`order ${request.orderId} of return ${request.id} is missing`);
    return order;
  }

  @FieldResolver(() => [ReturnStatusChange], { description: "Oldest first; its last entry is the return's status." })
  statusHistory(@Root() request: ReturnRequest, @Ctx() ctx: Context): Promise<ReturnStatusChange[]> {
    return returnHistoryLoader(ctx).load(request.id);
  }

  /** Loads the return locked for the rest of the transaction, applies `trigger` or says why not. */
  private change(ctx: Context, id: string, trigger: ReturnTrigger): Promise<ReturnRequest> {
    const user = requireUser(ctx);
    return this.runtime.commit(ctx.em, async (tx, emit) => {
      const request = isUuid(id) ? await tx.findOne(ReturnRequest, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true }) : null;
      if (!request) throw new NotFoundError("ReturnRequest", id, "id");
      const previousStatus = request.status;
      if (!transitionReturn(tx, emit, request, trigger, { actor: `user:${user.userId}` })) {
        throw new ConflictError(`Return ${id} is ${request.status}: ${trigger.type} is not possible from this status.`, { status: request.status });
      }
      audit(tx, ctx, {
        action: `return.${request.status.toLowerCase()}`,
        targetType: "ReturnRequest",
        targetId: request.id,
        correlationId: request.orderId,
        details: { orderId: request.orderId, previousStatus, ...trigger },
      });
      return request;
    });
  }
}

/** Adds `returns` to `Order`. */
@Resolver(() => Order)
export class OrderReturnsResolver {
  @FieldResolver(() => [ReturnRequest], { description: "Oldest first; the order's owner, STAFF and ADMIN." })
  returns(@Root() order: Order, @Ctx() ctx: Context): Promise<ReturnRequest[]> {
    requireOwnerOrStaff(ctx, order.userId);
    return orderReturnsLoader(ctx).load(order.id);
  }
}
