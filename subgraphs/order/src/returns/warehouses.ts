import { BadUserInputError, NotFoundError, internalGraphQL, type Runtime } from "@commerce/kit";

const WAREHOUSES = `query ReturnWarehouses { warehouses { id } }`;

/**
 * Checks with the product subgraph that `warehouseId` names a warehouse, before a return is received
 * into it: an unknown one would leave the restock nowhere to go. NOT_FOUND when it does not exist;
 * BAD_USER_INPUT (retry) when the product subgraph cannot be asked.
 */
export async function assertWarehouseExists(runtime: Runtime<unknown>, warehouseId: string): Promise<void> {
  let ids: string[];
  try {
    const data = await internalGraphQL<{ warehouses: { id: string }[] }>({
      service: "product",
      url: runtime.config.subgraphUrls.product,
      secret: runtime.config.internalSecret,
      as: { kind: "service", service: "order" },
      query: WAREHOUSES,
      timeoutMs: 2_000,
    });
    ids = data.warehouses.map((warehouse) => warehouse.id);
  } catch (error) {
    runtime.logger.warn({ err: error, warehouseId }, "could not check the warehouse with the product subgraph");
    throw new BadUserInputError("The warehouse could not be checked with the catalog just now; retry in a moment.", "warehouseId");
  }
  if (!ids.includes(warehouseId)) throw new NotFoundError("Warehouse", warehouseId, "warehouseId");
}
