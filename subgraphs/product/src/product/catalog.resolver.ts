import { Arg, Ctx, Directive, Field, ID, ObjectType, Query, Resolver } from "type-graphql";
import { BadUserInputError, ForbiddenError, Money, type Context, isUuid } from "@commerce/kit";
import { Product } from "./product.entity";

const MAX_IDS = 500;

/** What the order service needs of a product to price and accept an order line. */
@Directive("@inaccessible")
@ObjectType()
export class CatalogProduct {
  @Field(() => ID)
  id: string;

  @Field()
  sku: string;

  @Field()
  name: string;

  @Field(() => Money)
  price: Money;

  @Field()
  active: boolean;
}

/**
 * Internal: the order service reads the catalog synchronously in `placeOrder`,
 * so a product is orderable the moment `createProduct` returned (its
 * `product.upserted` replica may lag). Hidden from the public supergraph.
 */
@Resolver()
export class CatalogResolver {
  @Directive("@inaccessible")
  @Query(() => [CatalogProduct], { description: "Internal (services only): products by id, unknown ids omitted." })
  async _catalogProducts(@Arg("ids", () => [ID]) ids: string[], @Ctx() ctx: Context): Promise<CatalogProduct[]> {
    if (ctx.identity?.kind !== "service") throw new ForbiddenError("_catalogProducts is for our own services only.");
    if (ids.length > MAX_IDS) throw new BadUserInputError(`ask for at most ${MAX_IDS} ids at a time.`, "ids");
    const valid = [...new Set(ids.filter(isUuid))];
    if (!valid.length) return [];
    const products = await ctx.em.find(Product, { id: { $in: valid } });
    return products.map((product) => ({ id: product.id, sku: product.sku, name: product.name, price: product.price, active: product.active }));
  }
}
