import { z } from "zod";
import { Id, Money } from "./common";

/** Mirrors `enum ReturnStatus` of the public API. */
export const ReturnStatus = z.enum(["REQUESTED", "APPROVED", "REJECTED", "RECEIVED", "REFUNDED"]);
export type ReturnStatus = z.infer<typeof ReturnStatus>;

/** Units of one product a return sends back, at the price they were bought for. */
const ReturnLine = z.object({ productId: Id, quantity: z.number().int().positive(), unitPrice: Money });

const ReturnRef = { returnId: Id, orderId: Id, userId: Id };

/**
 * Contracts of a return's steps. The order service owns returns, so `return.*` travels on the `order`
 * stream; `correlationId` is the order id, like the rest of the order's saga.
 */
export const returnContracts = {
  "return.requested": { 1: z.object({ ...ReturnRef, lines: z.array(ReturnLine).min(1), reason: z.string() }) },
  "return.approved": { 1: z.object(ReturnRef) },
  "return.rejected": { 1: z.object({ ...ReturnRef, reason: z.string() }) },
  /** The goods are back in `warehouseId`: product restocks `lines`, payment refunds up to `refund` (their price). */
  "return.received": { 1: z.object({ ...ReturnRef, warehouseId: Id, lines: z.array(ReturnLine).min(1), refund: Money }) },
  /** The refund landed (`amount` may be less than asked: never more than the order's capture across its returns). */
  "return.refunded": { 1: z.object({ ...ReturnRef, amount: Money }) },
} as const;
