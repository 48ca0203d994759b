import { isUuid } from "@commerce/kit";
import { createEvent, type Handler } from "@commerce/streams";
import { Product } from "../product/product.entity";
import { planReservation, unitsByProduct } from "../reservation/plan";
import { Reservation } from "../reservation/reservation.entity";
import { checkLowStock } from "../stock/low-stock";
import { lockOrder, lockStock } from "../stock/stock.locks";

/**
 * order.placed → reserve every line or none. Stock rows are row-locked in a
 * fixed order before reading what is free, so concurrent orders for the last
 * units never both get them. Idempotent per order: an existing reservation
 * (or the tombstone of a cancellation that came first) means do nothing.
 */
export const reserveStockOnOrderPlaced: Handler = async (event, { em, emit, logger }) => {
  if (event.type !== "order.placed") return;
  const { orderId, userId, items, total } = event.payload;
  const meta = { correlationId: orderId, causation: event };
  await lockOrder(em, orderId);
  const existing = await em.findOne(Reservation, { orderId });
  if (existing) {
    logger.info({ orderId, status: existing.status }, "order.placed for an order already handled: nothing to do");
    return;
  }

  const wanted = unitsByProduct(items);
  const productIds = [...wanted.keys()].filter(isUuid).sort();
  const products = productIds.length ? await em.find(Product, { id: { $in: productIds }, active: true }) : [];
  const orderable = new Set(products.map((product) => product.id));
  const levels = await lockStock(em, [...orderable].sort());
  const plan = planReservation(
    wanted,
    orderable,
    levels.map((level) => ({ productId: level.product.id, warehouseId: level.warehouse.id, available: level.available })),
  );

  if (!plan.ok) {
    const unknown = plan.shortages.filter((shortage) => !orderable.has(shortage.productId)).length;
    const reason = unknown ? "some products are unknown or no longer sold" : "not enough stock";
    em.persist(Reservation.rejected(orderId, userId, reason));
    emit(createEvent("inventory.rejected", { orderId, userId, reason, shortages: plan.shortages }, meta));
    return;
  }

  const byKey = new Map(levels.map((level) => [`${level.product.id}/${level.warehouse.id}`, level]));
  for (const line of plan.lines) byKey.get(`${line.productId}/${line.warehouseId}`)!.reserve(line.quantity);
  em.persist(Reservation.reserved(orderId, userId, plan.lines));
  await checkLowStock(em, [...orderable], levels, emit, meta, products);
  // Each line says what payment's invoice needs: the price the order was placed at and the product's name.
  const unitPrices = new Map(items.map((item) => [item.productId, item.unitPrice]));
  const names = new Map(products.map((product) => [product.id, product.name]));
  emit(
    createEvent(
      "inventory.reserved",
      {
        orderId,
        userId,
        total,
        items: [...wanted].map(([productId, quantity]) => ({ productId, quantity, unitPrice: unitPrices.get(productId), name: names.get(productId) })),
      },
      meta,
    ),
  );
};
