import { Ctx, Directive, FieldResolver, Int, Resolver, Root } from "type-graphql";
import { STOCK_CACHE_HINT, type Context } from "@commerce/kit";
import { requireStaff } from "../auth";
import { Category } from "../category/category.entity";
import { StockLevel } from "../stock/stock-level.entity";
import { Product } from "./product.entity";
import { availableByProduct, categoryById, stockByProduct } from "./product.loaders";

/** The computed and related fields of Product, each batched per request. */
@Resolver(() => Product)
export class ProductFieldsResolver {
  @Directive(STOCK_CACHE_HINT)
  @FieldResolver(() => Int, { description: "Sum over warehouses of on-hand minus reserved." })
  available(@Root() product: Product, @Ctx() ctx: Context): Promise<number> {
    return availableByProduct(ctx).load(product.id);
  }

  @FieldResolver(() => [StockLevel], { description: "Per warehouse; STAFF/ADMIN only." })
  stock(@Root() product: Product, @Ctx() ctx: Context): Promise<StockLevel[]> {
    requireStaff(ctx);
    return stockByProduct(ctx).load(product.id);
  }

  @FieldResolver(() => Category, { nullable: true })
  category(@Root() product: Product, @Ctx() ctx: Context): Promise<Category | null> | null {
    return product.category ? categoryById(ctx).load(product.category.id) : null;
  }
}
