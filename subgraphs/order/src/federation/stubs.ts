import { Directive, Field, ID, ObjectType } from "type-graphql";

/**
 * `User` is owned by the user subgraph; this subgraph knows only its id and
 * adds `orders` (see user-orders.resolver.ts). The gateway fetches the rest.
 */
@Directive('@key(fields: "id")')
@ObjectType("User")
export class UserRef {
  @Field(() => ID)
  id: string;

  static of(id: string): UserRef {
    return Object.assign(new UserRef(), { id });
  }
}

/**
 * `Product` is owned by the product subgraph. Order items only point at it;
 * `resolvable: false` because this subgraph adds no fields the gateway would
 * need to fetch from here.
 */
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType("Product")
export class ProductRef {
  @Field(() => ID)
  id: string;

  static of(id: string): ProductRef {
    return Object.assign(new ProductRef(), { id });
  }
}
