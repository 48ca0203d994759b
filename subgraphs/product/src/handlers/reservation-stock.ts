import type { EntityManager } from "@mikro-orm/postgresql";
import type { Reservation } from "../reservation/reservation.entity";
import type { StockLevel } from "../stock/stock-level.entity";
import { lockStock } from "../stock/stock.locks";

/**
 * Locks the stock rows of a reservation's products and applies `change` to the
 * row of each line. Returns all locked rows (for the low-stock check).
 */
export async function applyToLines(
  em: EntityManager,
  reservation: Reservation,
  change: (level: StockLevel, quantity: number) => void,
): Promise<StockLevel[]> {
  const levels = await lockStock(em, reservation.productIds().sort());
  for (const line of reservation.lines) {
    const level = levels.find((row) => row.product.id === line.productId && row.warehouse.id === line.warehouseId);
    // Stock rows are never deleted while a product exists; a missing one means the data was tampered with.
    if (!level) throw new Error(`stock row of product ${line.productId} in warehouse ${line.warehouseId} is missing`);
    change(level, line.quantity);
  }
  return levels;
}
