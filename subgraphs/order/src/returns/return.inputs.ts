import { Field, ID, InputType, Int } from "type-graphql";
import { assertNoControlCharacters, BadUserInputError } from "@commerce/kit";
import { ReturnStatusEnum, type ReturnStatus } from "./return-request.entity";

@InputType()
export class ReturnLineInput {
  @Field(() => ID)
  productId: string;

  @Field(() => Int)
  quantity: number;
}

@InputType()
export class RequestReturnInput {
  @Field(() => ID)
  orderId: string;

  @Field(() => [ReturnLineInput])
  lines: ReturnLineInput[];

  @Field(() => String)
  reason: string;
}

@InputType()
export class ReturnFilter {
  @Field(() => ReturnStatusEnum, { nullable: true })
  status?: ReturnStatus | null;
}

export const MAX_REASON_LENGTH = 500;

/** What a valid RequestReturnInput boils down to (reason trimmed). */
export interface ReturnRequestInput {
  orderId: string;
  lines: { productId: string; quantity: number }[];
  reason: string;
}

/** A reason a person typed: trimmed, 1 to MAX_REASON_LENGTH characters, else BAD_USER_INPUT naming `field`. */
export function validReason(reason: string, field: string): string {
  const text = reason.trim();
  if (!text) throw new BadUserInputError("Say why, in a few words.", field);
  if (text.length > MAX_REASON_LENGTH)
    throw new BadUserInputError(`${field.split(".").pop()} must be at most ${MAX_REASON_LENGTH} characters.`, field);
  assertNoControlCharacters(text, field);
  return text;
}

/** Checks the shape of a request before anything is read: each failure names the input path at fault. */
export function validateRequestReturn(input: RequestReturnInput): ReturnRequestInput {
  const lines = input.lines ?? [];
  if (!lines.length) throw new BadUserInputError("A return has at least one line.", "input.lines");
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    if (!Number.isInteger(line.quantity) || line.quantity < 1) {
      throw new BadUserInputError(`quantity must be at least 1; got ${line.quantity}.`, `input.lines.${index}.quantity`);
    }
    if (seen.has(line.productId)) {
      throw new BadUserInputError(
        `Product ${line.productId} appears twice: put it on one line with the summed quantity.`,
        `input.lines.${index}.productId`,
      );
    }
    seen.add(line.productId);
  });
  return {
    orderId: input.orderId,
    lines: lines.map(({ productId, quantity }) => ({ productId, quantity })),
    reason: validReason(input.reason, "input.reason"),
  };
}
