import { Arg, Args, ArgsType, Ctx, Directive, Field, ID, Info, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import type { EntityManager } from "@mikro-orm/postgresql";
import { IsOptional, ValidateNested } from "class-validator";
import {
  BadUserInputError,
  CATALOG_CACHE_HINT,
  ConflictError,
  dependsOnStock,
  type MoneyInput,
  NotFoundError,
  connectionType,
  audit,
  isStaff,
  pageSize,
  requireRole,
  type Context,
  type Runtime,
  isUuid,
} from "@commerce/kit";
import { Category } from "../category/category.entity";
import { checkLowStock } from "../stock/low-stock";
import { lockStock } from "../stock/stock.locks";
import { Product, type ProductAttribute } from "./product.entity";
import { CreateProductInput, ProductFilter, ProductSort, UpdateProductInput } from "./product.inputs";
import { productById } from "./product.loaders";
import { emitUpserted } from "./upserted";
import { searchProducts } from "./product.search";

export const ProductConnection = connectionType("Product", Product);

@ArgsType()
class ProductsArgs {
  @Field(() => ProductFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: ProductFilter | null;

  @Field(() => ProductSort, { nullable: true, defaultValue: ProductSort.NAME })
  sort?: ProductSort | null;

  @Field(() => Int, { nullable: true })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

/** Catalog queries and the ADMIN mutations. Every change emits `product.upserted` in its transaction. */
@Resolver(() => Product)
export class ProductResolver {
  constructor(private readonly runtime: Runtime) {}

  @Directive(CATALOG_CACHE_HINT)
  @Query(() => Product, { nullable: true, description: "Deleted products are visible to STAFF/ADMIN only." })
  async product(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Product | null> {
    const product = await productById(ctx).load(id);
    return product && (product.active || isStaff(ctx.identity)) ? product : null;
  }

  @Directive(CATALOG_CACHE_HINT)
  @Query(() => ProductConnection, { description: "Ordered by `sort` (name by default). STAFF/ADMIN also see deleted products." })
  async products(@Args() { filter, sort, first, after }: ProductsArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo) {
    // Which products match `inStock` moves with every order.
    if (filter?.inStock !== undefined && filter.inStock !== null) dependsOnStock(info);
    const size = pageSize(first);
    return searchProducts(ctx, { filter, sort, size, after, includeInactive: isStaff(ctx.identity) });
  }

  @Mutation(() => Product, { description: "ADMIN only." })
  async createProduct(@Arg("input") input: CreateProductInput, @Ctx() ctx: Context): Promise<Product> {
    requireRole(ctx, "ADMIN");
    assertPayable(input.price, this.runtime.config.walletCurrency);
    const attributes = checkAttributes(input.attributes ?? [], "input.attributes");
    return this.runtime
      .commit(ctx.em, async (tx, emit) => {
        await assertSkuFree(tx, input.sku);
        const product = new Product({
          sku: input.sku,
          name: input.name,
          description: input.description ?? null,
          price: input.price,
          category: await findCategory(tx, input.categoryId, "input.categoryId"),
        });
        product.attributes = attributes;
        product.lowStockThreshold = input.lowStockThreshold ?? 0;
        tx.persist(product);
        audit(tx, ctx, {
          action: "product.created",
          targetType: "Product",
          targetId: product.id,
          details: { sku: product.sku, name: product.name, price: product.price },
        });
        await emitUpserted(this.runtime, tx, emit, product);
        return product;
      })
      .catch(skuTaken(input.sku));
  }

  @Mutation(() => Product, { description: "ADMIN only. Only the given fields change." })
  async updateProduct(@Arg("id", () => ID) id: string, @Arg("input") input: UpdateProductInput, @Ctx() ctx: Context): Promise<Product> {
    requireRole(ctx, "ADMIN");
    assertPayable(input.price, this.runtime.config.walletCurrency);
    const attributes = input.attributes ? checkAttributes(input.attributes, "input.attributes") : undefined;
    return this.runtime
      .commit(ctx.em, async (tx, emit) => {
        const product = await findProduct(tx, id);
        if (input.sku !== undefined && input.sku !== null && input.sku.trim() !== product.sku) {
          await assertSkuFree(tx, input.sku, product.id);
          product.sku = input.sku.trim();
        }
        if (input.name !== undefined && input.name !== null) product.name = input.name.trim();
        if (input.description !== undefined) product.setDescription(input.description);
        if (input.price && (input.price.amount !== product.priceAmount || input.price.currency !== product.priceCurrency)) {
          audit(tx, ctx, {
            action: "product.price_changed",
            targetType: "Product",
            targetId: product.id,
            details: { sku: product.sku, before: product.price, after: { amount: input.price.amount, currency: input.price.currency } },
          });
          product.setPrice(input.price);
        }
        if (input.categoryId !== undefined) product.category = await findCategory(tx, input.categoryId, "input.categoryId");
        if (attributes) product.attributes = attributes;
        if (input.active !== undefined && input.active !== null) product.active = input.active;
        const thresholdChanged =
          input.lowStockThreshold !== undefined && input.lowStockThreshold !== null && input.lowStockThreshold !== product.lowStockThreshold;
        if (thresholdChanged) product.lowStockThreshold = input.lowStockThreshold!;
        if (thresholdChanged) {
          // A raised threshold can put the product below it right now: that is a crossing too.
          await checkLowStock(tx, [product.id], await lockStock(tx, [product.id]), emit);
        }
        await tx.populate(product, ["category"]);
        const changed = Object.keys(input).filter((key) => (input as unknown as Record<string, unknown>)[key] !== undefined && key !== "price");
        if (changed.length)
          audit(tx, ctx, { action: "product.updated", targetType: "Product", targetId: product.id, details: { sku: product.sku, fields: changed } });
        await emitUpserted(this.runtime, tx, emit, product);
        return product;
      })
      .catch(skuTaken(input.sku));
  }

  @Mutation(() => Boolean, { description: "ADMIN only. Soft delete: hidden from customers, kept for old orders." })
  async deleteProduct(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    requireRole(ctx, "ADMIN");
    return this.runtime.commit(ctx.em, async (tx, emit) => {
      const product = await findProduct(tx, id);
      if (product.deactivate()) {
        await tx.populate(product, ["category"]);
        audit(tx, ctx, { action: "product.deleted", targetType: "Product", targetId: product.id, details: { sku: product.sku, name: product.name } });
        await emitUpserted(this.runtime, tx, emit, product);
      }
      return true;
    });
  }
}

/** Wallets hold one currency (WALLET_CURRENCY): a product priced in another could be ordered but never paid. */
function assertPayable(price: MoneyInput | null | undefined, walletCurrency: string): void {
  if (price && price.currency !== walletCurrency) {
    throw new BadUserInputError(`Orders are paid from wallets in ${walletCurrency}: price the product in ${walletCurrency}.`, "input.price.currency");
  }
}

async function findProduct(em: EntityManager, id: string): Promise<Product> {
  const product = isUuid(id) ? await em.findOne(Product, { id }) : null;
  if (!product) throw new NotFoundError("Product", id, "id");
  return product;
}

async function findCategory(em: EntityManager, id: string | null | undefined, field: string): Promise<Category | null> {
  if (id === null || id === undefined) return null;
  const category = isUuid(id) ? await em.findOne(Category, { id }) : null;
  if (!category) throw new NotFoundError(`Category (${field})`, id, field);
  return category;
}

/** SKUs are unique case-insensitively (the `products_sku_lower_unique` index); `exceptId`: the product being renamed. */
async function assertSkuFree(em: EntityManager, sku: string, exceptId?: string): Promise<void> {
  const qb = em.createQueryBuilder(Product, "p").where("lower(p.sku) = lower(?)", [sku.trim()]);
  if (exceptId) qb.andWhere({ id: { $ne: exceptId } });
  if (await qb.getCount()) throw skuConflict(sku);
}

const skuConflict = (sku: string) =>
  new ConflictError(
    `A product with sku ${sku.trim()} already exists (SKUs are unique whatever their case): choose another sku or update that product.`,
    { field: "input.sku" },
  );

/** Two creations racing for one SKU: the unique index decides, and the loser gets the same CONFLICT. */
const skuTaken = (sku: string | null | undefined) => (error: unknown) => {
  if ((error as { code?: string }).code === "23505" && sku) throw skuConflict(sku);
  throw error;
};

function checkAttributes(attributes: { name: string; value: string }[], field: string): ProductAttribute[] {
  const seen = new Set<string>();
  return attributes.map((attribute, index) => {
    const name = attribute.name.trim();
    if (!name) throw new BadUserInputError("attribute names must not be blank.", `${field}.${index}.name`);
    if (seen.has(name.toLowerCase())) throw new BadUserInputError(`attribute ${name} is listed twice.`, `${field}.${index}.name`);
    seen.add(name.toLowerCase());
    return { name, value: attribute.value };
  });
}
