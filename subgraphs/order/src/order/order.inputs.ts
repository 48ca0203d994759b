import { IsOptional, MaxLength } from "class-validator";
import { Field, ID, InputType, Int } from "type-graphql";
import { BadUserInputError, NoControlCharacters } from "@commerce/kit";
import { OrderStatusEnum, type OrderStatus } from "./order.entity";

@InputType()
export class OrderItemInput {
  @Field(() => ID)
  productId: string;

  @Field(() => Int)
  quantity: number;
}

@InputType()
export class PlaceOrderInput {
  @Field(() => [OrderItemInput])
  items: OrderItemInput[];

  @Field(() => String, { nullable: true })
  @NoControlCharacters({ message: "name must not contain line breaks, tabs, bidirectional or other control characters" })
  name?: string | null;

  @Field(() => String, { nullable: true, description: "Retrying with the same key returns the same order instead of placing a second one." })
  idempotencyKey?: string | null;
}

@InputType()
export class OrderFilter {
  @Field(() => OrderStatusEnum, { nullable: true })
  status?: OrderStatus | null;

  /** Capped as `products` caps its search (ProductFilter), at the length of the longest order name. */
  @Field(() => String, { nullable: true, description: "Matches part of the order name, case-insensitively." })
  @IsOptional()
  @MaxLength(200)
  search?: string | null;

  @Field(() => ID, { nullable: true, description: "STAFF and ADMIN: one customer's orders. A customer may name only themselves." })
  userId?: string | null;

  @Field(() => Date, { nullable: true, description: "Placed at or after this instant." })
  createdFrom?: Date | null;

  @Field(() => Date, { nullable: true, description: "Placed before this instant." })
  createdTo?: Date | null;
}

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1000;
export const MAX_NAME_LENGTH = 200;
export const MAX_KEY_LENGTH = 200;

/** What a valid PlaceOrderInput boils down to (name trimmed, blanks as null). */
export interface PlaceOrderRequest {
  items: { productId: string; quantity: number }[];
  name: string | null;
  idempotencyKey: string | null;
}

/**
 * Checks a placement before anything is read or written. Each failure names
 * the input path at fault (`input.items.3.quantity`), so a client can point at it.
 */
export function validatePlaceOrder(input: PlaceOrderInput): PlaceOrderRequest {
  const items = input.items ?? [];
  if (items.length < 1 || items.length > MAX_LINES) {
    throw new BadUserInputError(`An order has 1 to ${MAX_LINES} lines; got ${items.length}.`, "input.items");
  }
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      throw new BadUserInputError(`quantity must be between 1 and ${MAX_QUANTITY}; got ${item.quantity}.`, `input.items.${index}.quantity`);
    }
    if (seen.has(item.productId)) {
      throw new BadUserInputError(`Product ${item.productId} appears twice: put it on one line with the summed quantity.`, "input.items");
    }
    seen.add(item.productId);
  });
  const name = input.name?.trim() || null;
  if (name && name.length > MAX_NAME_LENGTH) {
    throw new BadUserInputError(`name must be at most ${MAX_NAME_LENGTH} characters.`, "input.name");
  }
  // Keys are compared exactly as sent: a client retries with the very same string.
  const idempotencyKey = input.idempotencyKey ?? null;
  // A blank key is a client bug (an unset variable), not a request for no idempotency: silently
  // treating it as absent would place a second order on the very retry the key was meant to absorb.
  if (idempotencyKey !== null && !idempotencyKey.trim()) {
    throw new BadUserInputError("idempotencyKey must not be blank: send one unique string per checkout, or leave it out.", "input.idempotencyKey");
  }
  if (idempotencyKey && idempotencyKey.length > MAX_KEY_LENGTH) {
    throw new BadUserInputError(`idempotencyKey must be at most ${MAX_KEY_LENGTH} characters.`, "input.idempotencyKey");
  }
  return { items: items.map(({ productId, quantity }) => ({ productId, quantity })), name, idempotencyKey };
}
