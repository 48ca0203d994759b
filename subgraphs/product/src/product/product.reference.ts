import type { Context } from "@commerce/kit";
import { productById } from "./product.loaders";

/**
 * Resolves `Product` entities for the gateway (e.g. `Order.items.product`),
 * batched per request. Deleted products resolve too: old orders show them.
 */
export const productReference = {
  __resolveReference: (reference: { id: string }, ctx: Context) => productById(ctx).load(reference.id),
};
