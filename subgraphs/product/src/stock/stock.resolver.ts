import { randomUUID } from "node:crypto";
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import { assertNoControlCharacters, BadUserInputError, NotFoundError, audit, type Context, type Runtime, isUuid } from "@commerce/kit";
import { actorOf, requireStaff } from "../auth";
import { Product } from "../product/product.entity";
import { warehouseById } from "../product/product.loaders";
import { Warehouse } from "../warehouse/warehouse.entity";
import { checkLowStock } from "./low-stock";
import { StockAdjustment } from "./stock-adjustment.entity";
import { StockLevel } from "./stock-level.entity";
import { ensureStockRow, lockStock, lockStockAdjustments } from "./stock.locks";

@Resolver(() => StockLevel)
export class StockResolver {
  constructor(private readonly runtime: Runtime) {}

  @FieldResolver(() => Warehouse)
  async warehouse(@Root() level: StockLevel, @Ctx() ctx: Context): Promise<Warehouse> {
    const warehouse = await warehouseById(ctx).load(level.warehouse.id);
    if (!warehouse) throw new Error(`stock row ${level.id} points at a missing warehouse`);
    return warehouse;
  }

  @Mutation(() => StockLevel, {
    description: "STAFF/ADMIN. Adds delta (negative removes) to on-hand stock; on hand never goes below what is reserved.",
  })
  async adjustStock(
    @Arg("productId", () => ID) productId: string,
    @Arg("warehouseId", () => ID) warehouseId: string,
    @Arg("delta", () => Int) delta: number,
    @Arg("reason") reason: string,
    @Ctx() ctx: Context,
  ): Promise<StockLevel> {
    requireStaff(ctx);
    if (!reason.trim() || reason.length > 500) throw new BadUserInputError("reason must be 1 to 500 characters: say why stock changed.", "reason");
    assertNoControlCharacters(reason.trim(), "reason");
    return this.runtime.commit(ctx.em, async (tx, emit) => {
      const product = isUuid(productId) ? await tx.findOne(Product, { id: productId }) : null;
      if (!product) throw new NotFoundError("Product", productId, "productId");
      const warehouse = isUuid(warehouseId) ? await tx.findOne(Warehouse, { id: warehouseId }) : null;
      if (!warehouse) throw new NotFoundError("Warehouse", warehouseId, "warehouseId");
      await lockStockAdjustments(tx, productId);
      await ensureStockRow(tx, randomUUID(), productId, warehouseId);
      // All rows of the product, not just this one: the on-hand ceiling and the low-stock check need exact totals.
      const levels = await lockStock(tx, [productId]);
      const level = levels.find((row) => row.warehouse.id === warehouseId)!;
      const onHandBefore = level.onHand;
      const onHandElsewhere = levels.filter((row) => row !== level).reduce((sum, row) => sum + row.onHand, 0);
      level.adjust(delta, onHandElsewhere);
      audit(tx, ctx, {
        action: "stock.adjusted",
        targetType: "Product",
        targetId: productId,
        details: {
          warehouseId,
          warehouseCode: warehouse.code,
          delta,
          reason: reason.trim(),
          onHandBefore,
          onHandAfter: level.onHand,
          reserved: level.reserved,
        },
      });
      tx.persist(new StockAdjustment({ productId, warehouseId, delta, reason: reason.trim(), actor: actorOf(ctx) }));
      await checkLowStock(tx, [productId], levels, emit);
      return level;
    });
  }
}
