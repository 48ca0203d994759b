import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Reservation } from "../reservation/reservation.entity";
import { StockLevel } from "./stock-level.entity";

/**
 * Loads and row-locks (`SELECT … FOR UPDATE`) every stock row of these
 * products, always in (product id, warehouse id) order: every writer of stock
 * locks this way, so two transactions never wait on each other in a cycle, and
 * a second reservation of the same product waits for the first to commit and
 * then sees what is really left. Must run inside a transaction.
 */
export async function lockStock(tx: EntityManager, productIds: string[]): Promise<StockLevel[]> {
  if (!productIds.length) return [];
  return tx.find(
    StockLevel,
    { product: { $in: productIds } },
    { orderBy: { product: "asc", warehouse: "asc" }, lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
  );
}

/**
 * The reservation of an order, row-locked: the reservation row is the lock every handler working on one
 * order takes (a duplicate order.placed racing itself, a cancellation racing the capture). When there is
 * none yet, `tombstone` (if given) is inserted in its place, unless a concurrent order.placed inserted
 * one first: then that row is locked and returned.
 */
export async function lockReservation(tx: EntityManager, orderId: string, tombstone?: Reservation): Promise<Reservation | null> {
  const found = await tx.findOne(Reservation, { orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  if (found || !tombstone) return found;
  const inserted = await tx.execute<unknown[]>(
    `insert into reservations (order_id, user_id, status, lines, reason, created_at, updated_at)
     values (?, ?, ?, '[]', ?, now(), now()) on conflict (order_id) do nothing returning 1`,
    [tombstone.orderId, tombstone.userId, tombstone.status, tombstone.reason],
  );
  if (inserted.length) return null;
  return tx.findOne(Reservation, { orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
}

/**
 * Serialises stock adjustments of one product (transaction-scoped advisory
 * lock), taken before `ensureStockRow`. `lockStock` cannot see a row another
 * adjustment has inserted but not committed, so without this two adjustments
 * in two new warehouses would each miss the other's row when checking the
 * product's total on hand. Adjustments are the only writers that insert stock
 * rows; the others change locked rows only.
 */
export async function lockStockAdjustments(tx: EntityManager, productId: string): Promise<void> {
  await tx.execute("select pg_advisory_xact_lock(hashtextextended(?, 7))", [`stock-adjustment:${productId}`]);
}

/** Creates the stock row of a product in a warehouse if it is missing (concurrency-safe). */
export async function ensureStockRow(tx: EntityManager, id: string, productId: string, warehouseId: string): Promise<void> {
  await tx.execute(
    "insert into stock_levels (id, product_id, warehouse_id, on_hand, reserved) values (?, ?, ?, 0, 0) on conflict (product_id, warehouse_id) do nothing",
    [id, productId, warehouseId],
  );
}
