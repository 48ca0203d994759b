import { randomUUID } from "node:crypto";
import { Entity, ManyToOne, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Field, ID, ObjectType } from "type-graphql";

/** A node of the category tree; `parent` is resolved through a DataLoader (see CategoryResolver). */
@ObjectType()
@Entity({ tableName: "categories" })
export class Category {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Field()
  @Property({ type: "text" })
  name: string;

  @ManyToOne(() => Category, { nullable: true, deleteRule: "restrict", index: true })
  parent: Category | null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  constructor(name: string, parent: Category | null = null) {
    this.name = name.trim();
    this.parent = parent;
  }
}
