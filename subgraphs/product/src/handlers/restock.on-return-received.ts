import { randomUUID } from "node:crypto";
import type { EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { ensureStockRow, lockStock, lockStockAdjustments } from "../stock/stock.locks";

/**
 * return.received → the returned units go back on hand in the warehouse that received them (a stock
 * row is opened there if the product had none). Once per return: the `return_restocks` row is
 * inserted first, and a second delivery finds it and does nothing.
 */
export const restockOnReturnReceived: EventHandler<"return.received"> = async (event, { em, emit, logger }) => {
  const { returnId, orderId, warehouseId } = event.payload;
  const items = event.payload.lines.map(({ productId, quantity }) => ({ productId, quantity }));
  const inserted = await em.execute<{ return_id: string }[]>(
    `insert into return_restocks (return_id, order_id, warehouse_id, lines, created_at) values (?, ?, ?, ?, now())
     on conflict (return_id) do nothing returning return_id`,
    [returnId, orderId, warehouseId, JSON.stringify(items)],
  );
  if (!inserted.length) {
    logger.info({ returnId, orderId }, "return.received: this return is already restocked");
    return;
  }
  const productIds = [...new Set(items.map((item) => item.productId))].sort();
  // Adjustments are the writers that open stock rows; their per-product lock keeps the two from racing.
  for (const productId of productIds) {
    await lockStockAdjustments(em, productId);
    await ensureStockRow(em, randomUUID(), productId, warehouseId);
  }
  const levels = await lockStock(em, productIds);
  for (const item of items) {
    const level = levels.find((row) => row.product.id === item.productId && row.warehouse.id === warehouseId);
    if (!level) throw new Error(`stock row of product ${item.productId} in warehouse ${warehouseId} is missing`);
    level.restock(item.quantity);
  }
  emit(createEvent("inventory.return_restocked", { returnId, orderId, warehouseId, items }, { correlationId: orderId, causation: event }));
};
