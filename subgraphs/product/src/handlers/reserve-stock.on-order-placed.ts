import { isUuid, type EventHandler } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import { Product } from "../product/product.entity";
import { planReservation, unitsByProduct } from "../reservation/plan";
import { insertReservation, lockStockOf } from "../reservation/reservation.sql";

/**
 * order.placed → reserve every line or none. Stock rows are row-locked in a
 * fixed order before reading what is free, so concurrent orders for the last
 * units never both get them. Idempotent per order: an existing reservation
 * (or the tombstone of a cancellation that came first) means do nothing.
 * Two statements when it reserves: lock and read, then write.
 */
export const reserveStockOnOrderPlaced: EventHandler<"order.placed"> = async (event, { em, emit, logger }) => {
  const { orderId, userId, items, total } = event.payload;
  const meta = { correlationId: orderId, causation: event };
  const wanted = unitsByProduct(items);
  const stock = await lockStockOf(em, [...wanted.keys()].filter(isUuid).sort());
  const orderable = new Set(stock.filter((row) => row.active).map((row) => row.productId));
  const plan = planReservation(
    wanted,
    orderable,
    stock.map((row) => ({ productId: row.productId, warehouseId: row.warehouseId, available: row.onHand - row.reserved })),
  );

  if (!plan.ok) {
    // Rare: the products read again, so that an active product without stock rows is short, not unknown.
    const ids = plan.shortages.map((shortage) => shortage.productId).filter(isUuid);
    const sold = new Set((ids.length ? await em.find(Product, { id: { $in: ids }, active: true }) : []).map((product) => product.id));
    const unknown = plan.shortages.some((shortage) => !sold.has(shortage.productId));
    const reason = unknown ? "some products are unknown or no longer sold" : "not enough stock";
    const inserted = await em.execute<unknown[]>(
      `insert into reservations (order_id, user_id, status, lines, reason, created_at, updated_at)
       values (?, ?, 'REJECTED', '[]', ?, now(), now()) on conflict (order_id) do nothing returning 1`,
      [orderId, userId, reason],
    );
    if (!inserted.length) return alreadyHandled(logger, orderId);
    emit(createEvent("inventory.rejected", { orderId, userId, reason, shortages: plan.shortages }, meta));
    return;
  }

  const held = new Map<string, number>();
  for (const line of plan.lines) held.set(line.productId, (held.get(line.productId) ?? 0) + line.quantity);
  // Reserving only lowers availability: a marker flips (and an alert goes out) only on a fall to the threshold.
  const alerts = [...held].flatMap(([productId, quantity]) => {
    const rows = stock.filter((row) => row.productId === productId);
    const { sku, name, threshold, low } = rows[0]!;
    const available = rows.reduce((sum, row) => sum + row.onHand - row.reserved, 0) - quantity;
    return !low && available <= threshold ? [{ productId, sku, name, available, threshold }] : [];
  });
  const markers = alerts.map(({ productId }) => ({ productId, low: true }));
  if (!(await insertReservation(em, { orderId, userId, lines: plan.lines }, markers))) return alreadyHandled(logger, orderId);
  for (const alert of alerts) emit(createEvent("inventory.low_stock", alert, meta));
  // Each line says what payment's invoice needs: the price the order was placed at and the product's name.
  const unitPrices = new Map(items.map((item) => [item.productId, item.unitPrice]));
  const names = new Map(stock.map((row) => [row.productId, row.name]));
  emit(
    createEvent(
      "inventory.reserved",
      {
        orderId,
        userId,
        total,
        items: [...wanted].map(([productId, quantity]) => ({
          productId,
          quantity,
          unitPrice: unitPrices.get(productId),
          name: names.get(productId),
        })),
      },
      meta,
    ),
  );
};

function alreadyHandled(logger: { info: (meta: object, message: string) => void }, orderId: string): void {
  logger.info({ orderId }, "order.placed for an order already handled: nothing to do");
}
