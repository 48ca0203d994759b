import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { BadUserInputError, ConflictError, audit, requireRole, type Context, type Runtime, assertNoControlCharacters } from "@commerce/kit";
import { requireStaff } from "../auth";
import { Warehouse, normaliseWarehouseCode } from "./warehouse.entity";

const CODE = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;

@Resolver(() => Warehouse)
export class WarehouseResolver {
  constructor(private readonly runtime: Runtime) {}

  @Query(() => [Warehouse], { description: "STAFF/ADMIN only." })
  warehouses(@Ctx() ctx: Context): Promise<Warehouse[]> {
    requireStaff(ctx);
    return ctx.em.find(Warehouse, {}, { orderBy: { code: "asc" } });
  }

  @Mutation(() => Warehouse, { description: "ADMIN only. Codes are case-insensitive and unique." })
  async createWarehouse(@Arg("code") code: string, @Arg("name") name: string, @Ctx() ctx: Context): Promise<Warehouse> {
    requireRole(ctx, "ADMIN");
    const normalised = normaliseWarehouseCode(code);
    if (!CODE.test(normalised)) {
      throw new BadUserInputError("code must be 1 to 32 letters, digits, dashes or underscores, e.g. BER-1.", "code");
    }
    if (!name.trim() || name.trim().length > 200) throw new BadUserInputError("name must be 1 to 200 characters long.", "name");
    assertNoControlCharacters(name.trim(), "name");
    const taken = () => new ConflictError(`A warehouse with code ${normalised} already exists.`, { field: "code" });
    if (await ctx.em.count(Warehouse, { code: normalised })) throw taken();
    return this.runtime
      .commit(ctx.em, async (tx) => {
        const warehouse = new Warehouse(normalised, name);
        tx.persist(warehouse);
        audit(tx, ctx, {
          action: "warehouse.created",
          targetType: "Warehouse",
          targetId: warehouse.id,
          details: { code: warehouse.code, name: warehouse.name },
        });
        return warehouse;
      })
      .catch((error) => {
        if ((error as { code?: string }).code === "23505") throw taken();
        throw error;
      });
  }
}
