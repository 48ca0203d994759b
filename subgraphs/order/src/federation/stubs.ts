import { entityReference } from "@commerce/kit";

/** `User` is owned by the user subgraph; this subgraph adds `orders` (see user-orders.resolver.ts). */
export const UserRef = entityReference("User");
export type UserRef = InstanceType<typeof UserRef>;

/** `Product` is owned by the product subgraph; order items only point at it. */
export const ProductRef = entityReference("Product", { resolvable: false });
export type ProductRef = InstanceType<typeof ProductRef>;
