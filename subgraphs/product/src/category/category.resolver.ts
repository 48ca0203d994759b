import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import {
  BadUserInputError,
  CATALOG_CACHE_HINT,
  ConflictError,
  NotFoundError,
  audit,
  requireRole,
  type Context,
  type Runtime,
  isUuid,
  assertNoControlCharacters,
} from "@commerce/kit";
import { categoryById } from "../product/product.loaders";
import { Category } from "./category.entity";

@Resolver(() => Category)
export class CategoryResolver {
  constructor(private readonly runtime: Runtime) {}

  @Directive(CATALOG_CACHE_HINT)
  @Query(() => [Category], { description: "Every category, ordered by name; rebuild the tree from `parent`." })
  categories(@Ctx() ctx: Context): Promise<Category[]> {
    return ctx.em.find(Category, {}, { orderBy: { name: "asc", id: "asc" } });
  }

  @FieldResolver(() => Category, { nullable: true })
  parent(@Root() category: Category, @Ctx() ctx: Context): Promise<Category | null> | null {
    return category.parent ? categoryById(ctx).load(category.parent.id) : null;
  }

  @Mutation(() => Category, { description: "ADMIN only." })
  async createCategory(
    @Arg("name") name: string,
    @Arg("parentId", () => ID, { nullable: true }) parentId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Category> {
    requireRole(ctx, "ADMIN");
    if (!name.trim() || name.trim().length > 100) throw new BadUserInputError("name must be 1 to 100 characters long.", "name");
    assertNoControlCharacters(name.trim(), "name");
    const taken = () =>
      new ConflictError(`A category named ${name.trim()} already exists there (names are compared ignoring case).`, { field: "name" });
    return this.runtime
      .commit(ctx.em, async (tx) => {
        let parent: Category | null = null;
        if (parentId !== null && parentId !== undefined) {
          parent = isUuid(parentId) ? await tx.findOne(Category, { id: parentId }) : null;
          if (!parent) throw new NotFoundError("Category (parentId)", parentId, "parentId");
        }
        const category = new Category(name, parent);
        tx.persist(category);
        audit(tx, ctx, {
          action: "category.created",
          targetType: "Category",
          targetId: category.id,
          details: { name: category.name, parentId: parent?.id ?? null },
        });
        return category;
      })
      .catch((error) => {
        // The unique index on (parent, lower(name)) decides, also between two concurrent creations.
        if ((error as { code?: string }).code === "23505") throw taken();
        throw error;
      });
  }
}
