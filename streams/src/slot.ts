import { createHash } from "node:crypto";
import type { Client } from "pg";

/** The publication the relay decodes: inserts into `outbox`, only the columns it publishes. */
export const OUTBOX_PUBLICATION = "outbox_relay";

/**
 * The relay's replication slot of `database`. Slot names are server-wide, so the name carries the
 * database's; names longer than Postgres allows end in a hash instead.
 */
export function slotNameFor(database: string): string {
  const name = `outbox_${database.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
  if (name.length <= 63) return name;
  return `${name.slice(0, 50)}_${createHash("sha1").update(database).digest("hex").slice(0, 12)}`;
}

/** `X/Y` → a number of bytes (LSNs fit 64 bits). */
export function lsnToBigInt(lsn: string): bigint {
  const [high = "0", low = "0"] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

export function bigIntToLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** What the server knows of a slot, or null when it does not exist. */
export interface SlotState {
  active: boolean;
  /** WAL the slot keeps for the relay: written since the last confirmed publication, in bytes. */
  lagBytes: number;
  /** `lost` once the server gave up the WAL the slot needs (`max_slot_wal_keep_size`). */
  walStatus: string | null;
}

export async function slotState(client: Pick<Client, "query">, slot: string): Promise<SlotState | null> {
  const { rows } = await client.query<{ active: boolean; lag: string | null; wal_status: string | null }>(
    `select active, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint::text as lag, wal_status
     from pg_replication_slots where slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return null;
  return { active: row.active, lagBytes: Number(row.lag ?? 0), walStatus: row.wal_status };
}
