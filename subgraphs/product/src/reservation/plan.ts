import type { ReservationLine } from "./reservation.entity";

/** What is free of one product in one warehouse. */
export interface Availability {
  productId: string;
  warehouseId: string;
  available: number;
}

export interface Shortage {
  productId: string;
  requested: number;
  available: number;
}

export type ReservationPlan = { ok: true; lines: ReservationLine[] } | { ok: false; shortages: Shortage[] };

/**
 * Decides how to serve an order: every product fully, or nothing (all
 * shortages listed, so the customer learns everything at once). A product may
 * be split over warehouses, taking from the one with most available first so
 * orders touch as few warehouses as possible. Products not in `orderable`
 * (unknown or deleted) are shortages with nothing available.
 */
export function planReservation(
  wanted: ReadonlyMap<string, number>,
  orderable: ReadonlySet<string>,
  stock: readonly Availability[],
): ReservationPlan {
  const lines: ReservationLine[] = [];
  const shortages: Shortage[] = [];
  for (const [productId, requested] of wanted) {
    const sources = orderable.has(productId)
      ? stock
          .filter((row) => row.productId === productId && row.available > 0)
          .sort((a, b) => b.available - a.available || a.warehouseId.localeCompare(b.warehouseId))
      : [];
    const total = sources.reduce((sum, row) => sum + row.available, 0);
    if (total < requested) {
      shortages.push({ productId, requested, available: total });
      continue;
    }
    let remaining = requested;
    for (const source of sources) {
      if (remaining === 0) break;
      const quantity = Math.min(remaining, source.available);
      lines.push({ productId, warehouseId: source.warehouseId, quantity });
      remaining -= quantity;
    }
  }
  return shortages.length ? { ok: false, shortages } : { ok: true, lines };
}

/** Order lines → units wanted per product (an order may list one product twice). */
export function unitsByProduct(items: readonly { productId: string; quantity: number }[]): Map<string, number> {
  const wanted = new Map<string, number>();
  for (const item of items) wanted.set(item.productId, (wanted.get(item.productId) ?? 0) + item.quantity);
  return wanted;
}
