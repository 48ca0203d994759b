import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import { requireOwnerOrStaff, type ConnectionShape, type Context } from "@commerce/kit";
import { UserRef } from "../federation/stubs";
import type { Order } from "./order.entity";
import { userOrdersLoader } from "./order.queries";
import { OrderConnection } from "./order.resolver";

/** Adds `orders` to the user subgraph's `User`. */
@Resolver(() => UserRef)
export class UserOrdersResolver {
  @FieldResolver(() => OrderConnection, { description: "Newest first. A customer may list only their own; STAFF and ADMIN anyone's." })
  orders(
    @Root() user: UserRef,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionShape<Order>> {
    requireOwnerOrStaff(ctx, user.id);
    return userOrdersLoader(ctx, first, after).load(user.id);
  }
}
