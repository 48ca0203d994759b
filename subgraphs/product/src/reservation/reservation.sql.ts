import type { EntityManager } from "@mikro-orm/postgresql";
import type { ReservationLine } from "./reservation.entity";

/**
 * The saga's hot statements on stock, as single SQL statements without entity hydration: one to lock
 * and read, one to write, per step. The admin paths and the compensations stay on the entities.
 */

/** A stock row of a product being reserved, locked, with what the reservation needs of its product. */
export interface LockedStock {
  productId: string;
  warehouseId: string;
  onHand: number;
  reserved: number;
  active: boolean;
  threshold: number;
  sku: string;
  name: string;
  /** The product's low-stock marker; a product without one counts as low (see LowStockMarker). */
  low: boolean;
}

/**
 * Locks (`FOR UPDATE`) every stock row of these products in (product, warehouse) order, the order every
 * writer of stock locks in, and reads their product and low-stock marker in the same statement. Markers
 * are only written by transactions holding all of their product's stock rows, so these locks guard them.
 */
export async function lockStockOf(em: EntityManager, productIds: readonly string[]): Promise<LockedStock[]> {
  if (!productIds.length) return [];
  return em.execute<LockedStock[]>(
    `select s.product_id as "productId", s.warehouse_id as "warehouseId", s.on_hand as "onHand", s.reserved,
            p.active, p.low_stock_threshold as threshold, p.sku, p.name, coalesce(m.low, true) as low
     from stock_levels s
     join products p on p.id = s.product_id
     left join low_stock_markers m on m.product_id = s.product_id
     where s.product_id = any(?::uuid[])
     order by s.product_id, s.warehouse_id
     for update of s`,
    [`{${productIds.join(",")}}`],
  );
}

/** A product whose low-stock marker flips with this change. */
export interface MarkerChange {
  productId: string;
  low: boolean;
}

/**
 * Holds `lines` for an order in one statement: the reservation row (the order's idempotency key: a row
 * that exists, or a cancellation's tombstone, makes it do nothing), the stock rows locked by
 * {@link lockStockOf}, and only the markers that flip. Returns false when the order already had a row.
 */
export async function insertReservation(
  em: EntityManager,
  reservation: { orderId: string; userId: string; lines: readonly ReservationLine[] },
  markers: readonly MarkerChange[],
): Promise<boolean> {
  const rows = await em.execute<{ inserted: number }[]>(
    `with ins as (
       insert into reservations (order_id, user_id, status, lines, reason, created_at, updated_at)
       values (?, ?, 'RESERVED', ?::jsonb, null, now(), now())
       on conflict (order_id) do nothing returning 1),
     lines as (
       select l."productId" as product_id, l."warehouseId" as warehouse_id, sum(l.quantity)::int as quantity
       from jsonb_to_recordset(?::jsonb) as l("productId" uuid, "warehouseId" uuid, quantity int) group by 1, 2),
     stock as (
       update stock_levels s set reserved = s.reserved + lines.quantity
       from lines where s.product_id = lines.product_id and s.warehouse_id = lines.warehouse_id and exists (select 1 from ins)),
     marks as (
       insert into low_stock_markers (product_id, low, changed_at)
       select m."productId", m.low, now() from jsonb_to_recordset(?::jsonb) as m("productId" uuid, low boolean)
       where exists (select 1 from ins)
       on conflict (product_id) do update set low = excluded.low, changed_at = excluded.changed_at)
     select count(*)::int as inserted from ins`,
    [reservation.orderId, reservation.userId, JSON.stringify(reservation.lines), JSON.stringify(reservation.lines), JSON.stringify(markers)],
  );
  return rows[0]!.inserted > 0;
}

/**
 * Payment captured: RESERVED → COMMITTED and the held units leave the warehouse, in one statement. The
 * reservation row is the order's lock; the stock rows are locked in (product, warehouse) order by the
 * materialized `locked` before they are updated. Returns false when nothing was held (no reservation,
 * or it was released or committed already). Throws when a stock row of a line is missing.
 */
export async function commitReservation(em: EntityManager, orderId: string): Promise<boolean> {
  const [row] = await em.execute<{ committed: number; lines: number; rows: number }[]>(
    `with r as (
       update reservations set status = 'COMMITTED', updated_at = now()
       where order_id = ? and status = 'RESERVED' returning lines),
     lines as (
       select l."productId" as product_id, l."warehouseId" as warehouse_id, sum(l.quantity)::int as quantity
       from r, jsonb_to_recordset(r.lines) as l("productId" uuid, "warehouseId" uuid, quantity int) group by 1, 2),
     locked as materialized (
       select s.id, lines.quantity from stock_levels s
       join lines on s.product_id = lines.product_id and s.warehouse_id = lines.warehouse_id
       order by s.product_id, s.warehouse_id for update of s),
     stock as (
       update stock_levels s set reserved = s.reserved - least(locked.quantity, s.reserved), on_hand = s.on_hand - least(locked.quantity, s.reserved)
       from locked where s.id = locked.id returning 1)
     select (select count(*) from r)::int as committed, (select count(*) from lines)::int as lines, (select count(*) from stock)::int as rows`,
    [orderId],
  );
  if (row!.rows < row!.lines) throw new Error(`a stock row of order ${orderId}'s reservation is missing`);
  return row!.committed > 0;
}
