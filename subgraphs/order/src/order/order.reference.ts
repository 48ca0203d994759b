import type { Context } from "@commerce/kit";
import { orderByIdLoader } from "./order.queries";

/**
 * Resolves `Order` entities for the gateway (other subgraphs' fields on
 * orders, subscription pushes), batched per request. No access check here:
 * only the gateway reaches this, for an order a checked field already returned.
 */
export const orderReference = {
  __resolveReference: (reference: { id: string }, ctx: Context) => orderByIdLoader(ctx).load(reference.id),
};
