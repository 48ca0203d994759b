import { LockMode, ref } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  BadUserInputError,
  audit,
  isUuid,
  type Context,
  type Runtime,
  type UserIdentity,
} from "@commerce/kit";
import { Order } from "../order/order.entity";
import { OrderItem } from "../order/order-item.entity";
import { OrderStatusChange } from "../order/order-status-change.entity";
import type { OrderSettings } from "../settings";
import { ReturnRequest } from "./return-request.entity";
import type { ReturnRequestInput } from "./return.inputs";
import { recordReturnRequest } from "./return.transitions";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Units of each product of `orderId` already on a return that was not rejected. */
async function unitsBeingReturned(tx: EntityManager, orderId: string): Promise<Map<string, number>> {
  const open = await tx.find(ReturnRequest, { order: orderId, status: { $ne: "REJECTED" } });
  const units = new Map<string, number>();
  for (const request of open) for (const line of request.storedLines) units.set(line.productId, (units.get(line.productId) ?? 0) + line.quantity);
  return units;
}

/**
 * Opens a REQUESTED return of a SHIPPED or COMPLETED order for its owner, within the return window
 * (counted from shipping). The order row is locked, so two requests racing for the same units see
 * each other: a line never asks for more than was bought minus what other returns already take back.
 */
export function requestReturn(runtime: Runtime<OrderSettings>, ctx: Context, user: UserIdentity, input: ReturnRequestInput): Promise<ReturnRequest> {
  return runtime.commit(ctx.em, async (tx, emit) => {
    const order = isUuid(input.orderId)
      ? await tx.findOne(Order, { id: input.orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true })
      : null;
    if (!order) throw new NotFoundError("Order", input.orderId, "input.orderId");
    if (order.userId !== user.userId) throw new ForbiddenError("Only the customer who placed an order may return it.");
    if (order.status !== "SHIPPED" && order.status !== "COMPLETED") {
      throw new ConflictError(`Order ${order.id} is ${order.status}: only a SHIPPED or COMPLETED order can be returned.`, { status: order.status });
    }
    const shipped = await tx.findOne(OrderStatusChange, { order: order.id, status: "SHIPPED" });
    const windowDays = runtime.settings.returnWindowDays;
    const shippedAt = shipped?.at ?? order.updatedAt;
    if (Date.now() - shippedAt.getTime() > windowDays * DAY_MS) {
      throw new ConflictError(
        `Order ${order.id} shipped on ${shippedAt.toISOString().slice(0, 10)}: returns are accepted for ${windowDays} days after shipping.`,
        {
          status: order.status,
        },
      );
    }
    const items = await tx.find(OrderItem, { order: order.id });
    const taken = await unitsBeingReturned(tx, order.id);
    const lines = input.lines.map((line, index) => {
      const item = items.find((candidate) => candidate.productId === line.productId);
      if (!item) throw new BadUserInputError(`Product ${line.productId} is not part of order ${order.id}.`, `input.lines.${index}.productId`);
      const left = item.quantity - (taken.get(line.productId) ?? 0);
      if (line.quantity > left) {
        throw new BadUserInputError(
          `quantity ${line.quantity} is more than can be returned: ${item.quantity} bought, ${item.quantity - left} already on other returns, ${left} left.`,
          `input.lines.${index}.quantity`,
        );
      }
      return { productId: line.productId, quantity: line.quantity, unitPriceAmount: item.unitPriceAmount, unitPriceCurrency: item.unitPriceCurrency };
    });
    const request = new ReturnRequest({ order: ref(order), userId: order.userId, lines, reason: input.reason });
    recordReturnRequest(tx, emit, request, { actor: `user:${user.userId}` });
    audit(tx, ctx, {
      action: "return.requested",
      targetType: "ReturnRequest",
      targetId: request.id,
      correlationId: order.id,
      details: { orderId: order.id, lines: input.lines, reason: input.reason },
    });
    return request;
  });
}
