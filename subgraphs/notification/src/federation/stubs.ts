import { entityReference } from "@commerce/kit";

/** The order service's `Order`: the key, to hang `notifications` on. */
export const OrderRef = entityReference("Order");
export type OrderRef = InstanceType<typeof OrderRef>;

/** The user service's `User`: the key, to hang notifications and preferences on. */
export const UserRef = entityReference("User");
export type UserRef = InstanceType<typeof UserRef>;
