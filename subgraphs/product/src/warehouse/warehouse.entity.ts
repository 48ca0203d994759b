import { randomUUID } from "node:crypto";
import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Field, ID, ObjectType } from "type-graphql";

/** A place that holds stock. Codes are stored upper-case and unique (e.g. `BER-1`). */
@ObjectType()
@Entity({ tableName: "warehouses" })
export class Warehouse {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Field()
  @Property({ type: "text", unique: true })
  code: string;

  @Field()
  @Property({ type: "text" })
  name: string;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(code: string, name: string) {
    this.code = normaliseWarehouseCode(code);
    this.name = name.trim();
  }
}

export const normaliseWarehouseCode = (code: string): string => code.trim().toUpperCase();
