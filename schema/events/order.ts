import { z } from "zod";
import { Id, IsoDateTime, Money } from "./common";

/** Mirrors `enum OrderStatus` of the public API. */
export const OrderStatus = z.enum(["PENDING", "STOCK_RESERVED", "CONFIRMED", "SHIPPED", "COMPLETED", "CANCELLED", "OUT_OF_STOCK", "PAYMENT_FAILED"]);
export type OrderStatus = z.infer<typeof OrderStatus>;

/** Contracts of the `order` stream. `correlationId` of every saga event is the order id. */
export const orderContracts = {
  "order.placed": {
    1: z.object({
      orderId: Id,
      userId: Id,
      items: z.array(z.object({ productId: Id, quantity: z.number().int().positive(), unitPrice: Money })).min(1),
      total: Money,
      /** The customer's name for the order, if they gave one (added compatibly: older entries lack it). */
      name: z.string().nullable().optional(),
    }),
  },
  "order.status_changed": {
    1: z.object({
      orderId: Id,
      userId: Id,
      status: OrderStatus,
      previousStatus: OrderStatus.nullable(),
      reason: z.string().nullable(),
      at: IsoDateTime,
    }),
  },
  "order.confirmed": { 1: z.object({ orderId: Id, userId: Id, total: Money }) },
  "order.cancelled": {
    1: z.object({
      orderId: Id,
      userId: Id,
      reason: z.string(),
      previousStatus: OrderStatus,
      /** true when the saga deadline expired it rather than a person. */
      expired: z.boolean(),
    }),
  },
  "order.shipped": { 1: z.object({ orderId: Id, userId: Id }) },
  "order.completed": { 1: z.object({ orderId: Id, userId: Id }) },
} as const;
