import { IsCreditCard, IsInt, Matches, Max, Min } from "class-validator";
import { Field, InputType, Int } from "type-graphql";
import { BadUserInputError } from "@commerce/kit";
import type { Card } from "./card-processor";

/** A card to top up with; the simulated processor's test cards are in README ("Money"). */
@InputType({ description: "A payment card; digits may be grouped with spaces or dashes." })
export class CardInput {
  @Field()
  @IsCreditCard({ message: "number is not a valid card number (check the digits)" })
  number: string;

  @Field(() => Int)
  @IsInt()
  @Min(1, { message: "expMonth must be 1 to 12" })
  @Max(12, { message: "expMonth must be 1 to 12" })
  expMonth: number;

  @Field(() => Int)
  @IsInt()
  @Min(2000, { message: "expYear must be a four-digit year" })
  @Max(2999, { message: "expYear must be a four-digit year" })
  expYear: number;

  @Field()
  @Matches(/^\d{3,4}$/, { message: "cvc must be 3 or 4 digits" })
  cvc: string;
}

/** The card as the processor takes it (digits only), refused when it has expired (it is valid through its expiry month). */
export function usableCard(card: CardInput, now = new Date()): Card {
  const firstDayAfter = Date.UTC(card.expYear, card.expMonth, 1);
  if (firstDayAfter <= now.getTime()) throw new BadUserInputError("This card has expired: use another card.", "card.expYear");
  return { number: card.number.replace(/[\s-]+/g, ""), expMonth: card.expMonth, expYear: card.expYear, cvc: card.cvc };
}
