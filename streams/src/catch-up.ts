import type { Tracer } from "@opentelemetry/api";
import { Client, type ClientConfig } from "pg";
import type { PublicationLog } from "./publication-log";
import { xaddEntries, type OutboxEntry } from "./publisher";
import type { Durability, RedisClient } from "./redis-client";

/** What {@link createSlotWithCatchUp} needs. */
export interface CatchUpOptions {
  connection: ClientConfig;
  slot: string;
  redis: RedisClient;
  prefix: string;
  durability: Durability;
  log: PublicationLog;
  tracer?: Tracer;
  /** Rows per select and XADD pipeline. */
  batchSize: number;
  onStatement?: () => void;
}

/**
 * Creates the relay's slot and publishes what decoding from it will never see: outbox rows committed
 * before the slot's consistent point that no publication record lists (the database's first relay,
 * or a slot that was lost). Read in the snapshot the slot exports, so each committed row is either
 * here or decoded later, never neither. Rows come in id order, which is commit order per aggregate
 * (PROTOCOL.md "Relay"). Returns null when another relay created the slot meanwhile.
 */
export async function createSlotWithCatchUp(options: CatchUpOptions): Promise<{ republished: number } | null> {
  const replication = new Client({ ...options.connection, replication: "database" } as ClientConfig);
  replication.on("error", () => undefined); // the awaited queries report failures
  await replication.connect();
  try {
    let snapshot: string;
    try {
      const { rows } = await replication.query(`CREATE_REPLICATION_SLOT "${options.slot}" LOGICAL pgoutput (SNAPSHOT 'export')`);
      snapshot = String(rows[0]?.snapshot_name ?? "");
    } catch (error) {
      if ((error as { code?: string }).code === "42710") return null; // created concurrently
      throw error;
    }
    if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected exported snapshot name "${snapshot}"`);
    const reader = new Client(options.connection);
    reader.on("error", () => undefined);
    try {
      await reader.connect();
      return { republished: await republish(reader, snapshot, options) };
    } catch (error) {
      // A slot without its catch-up would never publish those rows: the caller drops it (dropSlot) and starts over.
      throw Object.assign(error as Error, { slotNeedsDrop: true });
    } finally {
      await reader.end().catch(() => undefined);
    }
  } finally {
    // Closing ends the snapshot's life; the slot stays, inactive, for the relay to stream from.
    await replication.end().catch(() => undefined);
  }
}

/** Drops `slot` if it exists, ending the session that streams from it (if any) first. */
export async function dropSlot(connection: ClientConfig, slot: string): Promise<void> {
  const client = new Client(connection);
  client.on("error", () => undefined);
  await client.connect();
  try {
    for (let attempt = 0; ; attempt += 1) {
      const { rows } = await client.query<{ pid: number | null }>(`select active_pid as pid from pg_replication_slots where slot_name = $1`, [slot]);
      if (rows.length === 0) return;
      try {
        if (rows[0]!.pid) await client.query("select pg_terminate_backend($1, 5000)", [rows[0]!.pid]);
        await client.query("select pg_drop_replication_slot($1)", [slot]);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "42704") return; // dropped meanwhile
        if (code !== "55006" || attempt >= 20) throw error; // active again: someone reconnected
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function republish(reader: Client, snapshot: string, options: CatchUpOptions): Promise<number> {
  const count = (n: number) => {
    for (let i = 0; i < n; i += 1) options.onStatement?.();
  };
  count(2);
  await reader.query(`begin isolation level repeatable read read only; set transaction snapshot '${snapshot}'`);
  let last = "0";
  let total = 0;
  for (;;) {
    count(1);
    const { rows } = await reader.query<{ id: string; event_id: string; type: string; stream: string; envelope: string; traceparent: string | null }>(
      `select o.id, o.event_id, o.type, o.stream, o.payload::text as envelope, o.payload->>'traceparent' as traceparent
       from outbox o
       where o.id > $1 and not exists (select 1 from outbox_publication p where p.outbox_ids @> array[o.id])
       order by o.id limit $2`,
      [last, options.batchSize],
    );
    if (rows.length === 0) break;
    const entries: OutboxEntry[] = rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      type: r.type,
      stream: r.stream,
      envelope: r.envelope,
      traceparent: r.traceparent,
    }));
    await xaddEntries(options.redis, options.prefix, entries, options.tracer, options.durability);
    options.log.record(
      entries.map((e) => e.id),
      new Date(),
    );
    total += entries.length;
    last = rows[rows.length - 1]!.id;
  }
  count(1);
  await reader.query("commit");
  return total;
}
