import { ArrayMaxSize, IsInt, IsOptional, Length, Matches, MaxLength, Min, ValidateNested } from "class-validator";
import { Field, ID, InputType, Int, registerEnumType } from "type-graphql";
import { MoneyInput, NoControlCharacters, TrimmedLength } from "@commerce/kit";

const CONTROL_MESSAGE = (field: string) => `${field} must not contain line breaks, tabs, bidirectional or other control characters`;

@InputType()
export class ProductAttributeInput {
  @Field()
  @Length(1, 100, { message: "attribute names must be 1 to 100 characters long" })
  name: string;

  @Field()
  @MaxLength(1000, { message: "attribute values must be at most 1000 characters long" })
  value: string;
}

const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SKU_MESSAGE = "sku must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit";

@InputType()
export class CreateProductInput {
  @Field()
  @Length(1, 64, { message: SKU_MESSAGE })
  @Matches(SKU, { message: SKU_MESSAGE })
  sku: string;

  @Field()
  @TrimmedLength(1, 200, { message: "name must be 1 to 200 characters long, not counting leading and trailing spaces" })
  @NoControlCharacters({ message: CONTROL_MESSAGE("name") })
  name: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @TrimmedLength(0, 5000, { message: "description must be at most 5000 characters long, not counting leading and trailing spaces" })
  @NoControlCharacters(
    { message: "description must not contain bidirectional or control characters other than line breaks and tabs" },
    { lineBreaks: true },
  )
  description?: string | null;

  @Field(() => MoneyInput)
  @ValidateNested()
  price: MoneyInput;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  categoryId?: string | null;

  @Field(() => [ProductAttributeInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  attributes?: ProductAttributeInput[] | null;

  @Field(() => Int, { nullable: true, description: "Default 0: alert when sold out." })
  @IsOptional()
  @IsInt()
  @Min(0, { message: "lowStockThreshold must not be negative" })
  lowStockThreshold?: number | null;
}

/** Every field optional: only what is given changes. `categoryId: null` and `description: null` clear them. */
@InputType()
export class UpdateProductInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, 64, { message: SKU_MESSAGE })
  @Matches(SKU, { message: SKU_MESSAGE })
  sku?: string;

  @Field({ nullable: true })
  @IsOptional()
  @TrimmedLength(1, 200, { message: "name must be 1 to 200 characters long, not counting leading and trailing spaces" })
  @NoControlCharacters({ message: CONTROL_MESSAGE("name") })
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @TrimmedLength(0, 5000, { message: "description must be at most 5000 characters long, not counting leading and trailing spaces" })
  @NoControlCharacters(
    { message: "description must not contain bidirectional or control characters other than line breaks and tabs" },
    { lineBreaks: true },
  )
  description?: string | null;

  @Field(() => MoneyInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  price?: MoneyInput;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  categoryId?: string | null;

  @Field(() => [ProductAttributeInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  attributes?: ProductAttributeInput[];

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0, { message: "lowStockThreshold must not be negative" })
  lowStockThreshold?: number;

  @Field({ nullable: true, description: "true brings a deleted product back." })
  @IsOptional()
  active?: boolean;
}

@InputType()
export class ProductFilter {
  @Field({ nullable: true, description: "Matches SKU, name and description (case-insensitive substring)." })
  @IsOptional()
  @MaxLength(200)
  search?: string;

  @Field(() => ID, { nullable: true, description: "This category and its sub-categories." })
  @IsOptional()
  categoryId?: string;

  @Field({ nullable: true, description: "true: available > 0; false: available = 0." })
  @IsOptional()
  inStock?: boolean;

  @Field(() => Int, { nullable: true, description: "Lowest price, in minor units of the product's currency." })
  @IsOptional()
  @IsInt()
  @Min(0, { message: "minPrice must not be negative" })
  minPrice?: number;

  @Field(() => Int, { nullable: true, description: "Highest price, in minor units of the product's currency." })
  @IsOptional()
  @IsInt()
  @Min(0, { message: "maxPrice must not be negative" })
  maxPrice?: number;
}

/** The orders `products` lists in; ties are broken by id, so every sort is a total order that cursors can resume. */
export enum ProductSort {
  NAME = "NAME",
  PRICE_ASC = "PRICE_ASC",
  PRICE_DESC = "PRICE_DESC",
  NEWEST = "NEWEST",
}
registerEnumType(ProductSort, { name: "ProductSort" });
