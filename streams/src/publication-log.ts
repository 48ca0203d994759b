import type { Client } from "pg";

/**
 * What the relay published when, kept in `outbox_publication` for people (`npm run saga`,
 * `Order.timeline`) and for the catch-up after a lost slot. Written off the hot path: the relay
 * records in memory and flushes one row per interval, whatever the number of events.
 */
export class PublicationLog {
  private ids: string[] = [];
  private at: string[] = [];

  record(ids: readonly string[], at: Date): void {
    const iso = at.toISOString();
    for (const id of ids) {
      this.ids.push(id);
      this.at.push(iso);
    }
  }

  get size(): number {
    return this.ids.length;
  }

  /** One insert of everything recorded; on failure the records stay for the next flush. */
  async flush(client: Pick<Client, "query">): Promise<number> {
    if (this.ids.length === 0) return 0;
    const ids = this.ids;
    const at = this.at;
    this.ids = [];
    this.at = [];
    try {
      await client.query(`insert into outbox_publication (outbox_ids, at) values ($1::bigint[], $2::timestamptz[])`, [ids, at]);
      return ids.length;
    } catch (error) {
      this.ids = ids.concat(this.ids);
      this.at = at.concat(this.at);
      throw error;
    }
  }
}

/** SQL of a row's publication time (null when not published yet), for `select … from outbox o`. */
export const PUBLISHED_AT_SQL = `(select p.at[array_position(p.outbox_ids, o.id)] from outbox_publication p
   where p.outbox_ids @> array[o.id] order by p.id limit 1)`;
