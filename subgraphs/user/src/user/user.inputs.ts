import { Field, InputType, ObjectType } from "type-graphql";
import { Length, ValidateBy, isEmail, type ValidationOptions } from "class-validator";
import { NoControlCharacters, TrimmedLength, connectionType, type Role } from "@commerce/kit";
import { RoleEnum, User } from "./user.entity";

/** Checks the address as it will be stored (`normaliseEmail` trims it), so a padded address registers as login finds it. */
function IsTrimmedEmail(options: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: "isTrimmedEmail", validator: { validate: (value: unknown) => typeof value === "string" && isEmail(value.trim()) } },
    options,
  );
}

@InputType()
export class RegisterInput {
  @Field()
  // isEmail refuses addresses over 254 characters itself, measured here on the address as stored.
  @IsTrimmedEmail({ message: "email must be a valid email address of at most 254 characters" })
  email: string;

  @Field()
  @Length(8, 200, { message: "password must be 8 to 200 characters long" })
  password: string;

  @Field()
  @TrimmedLength(1, 100, { message: "name must be 1 to 100 characters long, not counting leading and trailing spaces" })
  @NoControlCharacters({ message: "name must not contain line breaks, tabs, bidirectional or other control characters" })
  name: string;
}

@ObjectType()
export class AuthPayload {
  @Field()
  accessToken: string;

  @Field()
  refreshToken: string;

  @Field(() => User)
  user: User;
}

@InputType({ description: "Every given condition must hold." })
export class UserFilter {
  @Field(() => String, { nullable: true, description: "Exactly this address (any case, spaces around ignored)." })
  email?: string | null;

  @Field(() => RoleEnum, { nullable: true })
  role?: Role | null;

  @Field(() => String, { nullable: true, description: "Part of the e-mail or the name, in any case." })
  search?: string | null;
}

export const UserConnection = connectionType("User", User);
