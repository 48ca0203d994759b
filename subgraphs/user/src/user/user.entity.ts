import { randomUUID } from "node:crypto";
import { Entity, Enum, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { ROLES, type Role } from "@commerce/kit";

export const RoleEnum = Object.fromEntries(ROLES.map((role) => [role, role])) as { [K in Role]: K };
registerEnumType(RoleEnum, { name: "Role", description: "CUSTOMER (default on register), STAFF (warehouse), ADMIN" });

/** An account. Emails are stored normalised (trimmed, lower-case) and unique. */
@Directive('@key(fields: "id")')
@ObjectType()
@Entity({ tableName: "users" })
export class User {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Field()
  @Property({ type: "text", unique: true })
  email: string;

  @Field()
  @Property({ type: "text" })
  name: string;

  @Property({ type: "text", lazy: true, hidden: true })
  passwordHash: string;

  @Field(() => RoleEnum)
  @Enum({ items: () => ROLES, type: "text" })
  role: Opt<Role> = "CUSTOMER";

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(email: string, name: string, passwordHash: string, role: Role = "CUSTOMER") {
    this.email = normaliseEmail(email);
    this.name = name.trim();
    this.passwordHash = passwordHash;
    this.role = role;
  }
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
