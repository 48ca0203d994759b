import { ownedReference } from "@commerce/kit";
import { orderByIdLoader } from "./order.queries";

/**
 * Resolves `Order` entities (other subgraphs' fields on orders, subscription pushes), batched per
 * request, for the order's owner, STAFF and ADMIN, as `order(id)` does.
 */
export const orderReference = ownedReference(
  (id, ctx) => orderByIdLoader(ctx).load(id),
  (order) => order.userId,
);
