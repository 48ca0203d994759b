import { Directive, Field, ID, ObjectType } from "type-graphql";

/** The order service's `Order`, as far as this subgraph knows it: the key, to hang `notifications` on. */
@Directive('@key(fields: "id")')
@ObjectType("Order")
export class OrderRef {
  @Field(() => ID)
  id: string;
}

/** The user service's `User`, as far as this subgraph knows it: the key, to hang notifications and preferences on. */
@Directive('@key(fields: "id")')
@ObjectType("User")
export class UserRef {
  @Field(() => ID)
  id: string;
}
