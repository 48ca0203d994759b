import { randomUUID } from "node:crypto";
import { Entity, ManyToOne, PrimaryKey, Property, Unique, type Opt } from "@mikro-orm/core";
import { Directive, Field, ID, ObjectType } from "type-graphql";
import { INHERIT_CACHE_HINT } from "@commerce/kit";

/** A node of the category tree; `parent` is resolved through a DataLoader (see CategoryResolver). */
@Directive(INHERIT_CACHE_HINT)
@ObjectType()
@Entity({ tableName: "categories" })
// Siblings differ in name whatever the case; roots are siblings too (a null parent counts as one).
@Unique({
  name: "categories_sibling_name_unique",
  expression: `create unique index "categories_sibling_name_unique" on "categories" (coalesce("parent_id", '00000000-0000-0000-0000-000000000000'::uuid), lower("name"))`,
})
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
