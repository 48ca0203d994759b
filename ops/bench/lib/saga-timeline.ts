/**
 * Where a saga's time goes, read after the fact from the services' own records (no polling during the
 * run): the order's status history, each outbox row (`created_at` = start of the producing transaction,
 * `published_at` = start of the relay transaction that sent it to Redis) and each consumer's
 * `processed_event` row (`processed_at` = start of the handler's transaction). Timestamps come from
 * Postgres and the services' clocks: one machine, one clock.
 */
import { Client } from "pg";
import { PUBLISHED_AT_SQL, streamKey, type RedisClient } from "@commerce/streams";
import type { ServiceName } from "../../provision/platform";

/** Epoch ms (µs precision) of each step of one order's happy path; undefined where it did not happen. */
export interface SagaTimes {
  orderId: string;
  placedTx?: number;
  placedPublished?: number;
  productTx?: number;
  reservedPublished?: number;
  paymentTx?: number;
  capturedPublished?: number;
  orderTx?: number;
  confirmedAt?: number;
}

/** The hops, as [label, from, to] over {@link SagaTimes}. */
export const HOPS: readonly [string, keyof SagaTimes, keyof SagaTimes][] = [
  ["order.placed: placement tx start → relay publishes", "placedTx", "placedPublished"],
  ["  → product handler tx start", "placedPublished", "productTx"],
  ["product tx start → inventory.reserved published", "productTx", "reservedPublished"],
  ["  → payment handler tx start", "reservedPublished", "paymentTx"],
  ["payment tx start → payment.captured published", "paymentTx", "capturedPublished"],
  ["  → order handler tx start", "capturedPublished", "orderTx"],
  ["order tx start → CONFIRMED written", "orderTx", "confirmedAt"],
];

async function query<T>(url: string, sql: string, params: unknown[]): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const OUTBOX = `select o.correlation_id as "orderId", o.event_id as "eventId",
    extract(epoch from o.created_at) * 1000 as "created", extract(epoch from ${PUBLISHED_AT_SQL}) * 1000 as "published"
  from outbox o where o.type = $1 and o.correlation_id = any($2::text[])`;
const PROCESSED = `select event_id as "eventId", extract(epoch from processed_at) * 1000 as "at"
  from processed_event where consumer_group = $1 and event_id = any($2::uuid[])`;

type OutboxRow = { orderId: string; eventId: string; created: number; published: number | null };

/** The timeline of each of `orderIds` (missing steps stay undefined). */
export async function sagaTimes(adminUrls: Record<ServiceName, string>, orderIds: string[]): Promise<Map<string, SagaTimes>> {
  const times = new Map<string, SagaTimes>(orderIds.map((orderId) => [orderId, { orderId }]));
  const set = (orderId: string, key: keyof SagaTimes, value: number | null | undefined) => {
    const t = times.get(orderId);
    if (t && value != null) (t[key] as number) = Number(value);
  };
  const outbox = async (svc: ServiceName, type: string) => query<OutboxRow>(adminUrls[svc], OUTBOX, [type, orderIds]);
  const processed = async (svc: ServiceName, rows: OutboxRow[]) => {
    const byEvent = new Map(rows.map((row) => [row.eventId, row.orderId]));
    const marks = await query<{ eventId: string; at: number }>(adminUrls[svc], PROCESSED, [svc, [...byEvent.keys()]]);
    return marks.map((mark) => ({ orderId: byEvent.get(mark.eventId)!, at: mark.at }));
  };

  const placed = await outbox("order", "order.placed");
  for (const row of placed) {
    set(row.orderId, "placedTx", row.created);
    set(row.orderId, "placedPublished", row.published);
  }
  for (const mark of await processed("product", placed)) set(mark.orderId, "productTx", mark.at);
  const reserved = await outbox("product", "inventory.reserved");
  for (const row of reserved) set(row.orderId, "reservedPublished", row.published);
  for (const mark of await processed("payment", reserved)) set(mark.orderId, "paymentTx", mark.at);
  const captured = await outbox("payment", "payment.captured");
  for (const row of captured) set(row.orderId, "capturedPublished", row.published);
  for (const mark of await processed("order", captured)) set(mark.orderId, "orderTx", mark.at);
  const confirmed = await query<{ orderId: string; at: number }>(
    adminUrls.order,
    `select order_id as "orderId", extract(epoch from at) * 1000 as "at"
       from order_status_changes where status = 'CONFIRMED' and order_id = any($1::uuid[])`,
    [orderIds],
  );
  for (const row of confirmed) set(row.orderId, "confirmedAt", row.at);
  return times;
}

/** Status of each order (the order service's own view). */
export async function orderStatuses(orderUrl: string, orderIds: string[]): Promise<Map<string, string>> {
  const rows = await query<{ id: string; status: string }>(orderUrl, "select id, status from orders where id = any($1::uuid[])", [orderIds]);
  return new Map(rows.map((row) => [row.id, row.status]));
}

/** Per stream and consumer group: entries not yet delivered (`lag`) and delivered but not acknowledged (`pending`). */
export async function consumerLag(
  redis: RedisClient,
  prefix: string,
  producers: readonly string[],
): Promise<{ stream: string; group: string; lag: number; pending: number }[]> {
  const out: { stream: string; group: string; lag: number; pending: number }[] = [];
  for (const producer of producers) {
    const groups = (await redis.call("XINFO", "GROUPS", streamKey(prefix, producer)).catch(() => [])) as unknown[][];
    for (const flat of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
      out.push({ stream: producer, group: String(info.name), lag: Number(info.lag ?? 0), pending: Number(info.pending ?? 0) });
    }
  }
  return out;
}
