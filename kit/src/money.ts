import { Directive, Field, InputType, Int, ObjectType } from "type-graphql";
import { IsInt, IsIn, Min } from "class-validator";
import { INHERIT_CACHE_HINT } from "./catalog-cache";

/**
 * The currencies Node's ICU knows: the ISO 4217 codes in use (not XXX, XTS or the metals). A currency
 * of the right shape that is none of them ("ZZZ") was stored and announced to the other services.
 */
export const CURRENCY_CODES: readonly string[] = Intl.supportedValuesOf("currency");

/** Money in integer minor units (cents); never a float. Shared by every subgraph that shows prices. */
@Directive("@shareable")
@Directive(INHERIT_CACHE_HINT)
@ObjectType({ description: "An amount of money in integer minor units (e.g. cents)." })
export class Money {
  @Field(() => Int, { description: "Minor units, e.g. 1999 for 19.99" })
  amount: number;

  @Field({ description: "ISO 4217 code" })
  currency: string;

  static of(amount: number, currency = "USD"): Money {
    const money = new Money();
    money.amount = amount;
    money.currency = currency;
    return money;
  }
}

@InputType({ description: "Money in integer minor units." })
export class MoneyInput {
  @Field(() => Int)
  @IsInt()
  @Min(0, { message: "amount must not be negative" })
  amount: number;

  @Field({ defaultValue: "USD" })
  @IsIn(CURRENCY_CODES, { message: "currency must be a 3-letter ISO 4217 code such as USD" })
  currency: string;
}

/**
 * Formats minor units for people, e.g. `{ amount: 1234, currency: "USD" }` → `$12.34`,
 * using the currency's own number of decimals (JPY has none).
 */
export function formatMoney(money: { amount: number; currency: string }): string {
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: money.currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amount / 10 ** digits);
}
