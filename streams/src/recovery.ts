import type { Logger } from "pino";
import { groupBySlot, type RedisClient } from "./redis-client";
import { sleep } from "./timing";
import { fieldsOf, type RawEntry } from "./wire";

/** One delivery of a stream entry to this consumer. */
export interface Delivery {
  key: string;
  entryId: string;
  fields: Record<string, string>;
  /** Times Redis has delivered the entry, this delivery included. */
  deliveries: number;
}

/** What recovery needs of its consumer. */
export interface RecoveryHost {
  redis: RedisClient;
  /** The consumer group. */
  service: string;
  consumerName: string;
  /** Every stream the group reads (the replay stream included). */
  keys: readonly string[];
  concurrency: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  maxHoldMs: number;
  logger: Logger;
  /** Entries being handled here, by `<key> <entryId>`, with when they arrived. */
  inFlight: ReadonlyMap<string, number>;
  dispatch: (delivery: Delivery) => void;
  running: () => boolean;
}

/**
 * The consumer's recovery of pending entries (PROTOCOL.md "Consuming"): its own backlog after a start or
 * a read error, the renewal of the entries it still holds, and the claim of entries other consumers
 * abandoned. Every entry it hands back is dispatched with the delivery count Redis keeps for it.
 */
export class PendingRecovery {
  constructor(private readonly host: RecoveryHost) {}

  /** Every `claimIntervalMs` until the consumer stops: renews what this consumer holds, claims what others abandoned. */
  async claimLoop(signal: AbortSignal): Promise<void> {
    const { host } = this;
    while (host.running()) {
      await sleep(host.claimIntervalMs, signal);
      if (!host.running()) break;
      try {
        await this.renewInFlight();
      } catch (error) {
        host.logger.warn({ err: error }, "renewing held entries failed; retried at the next interval");
      }
      for (const key of host.keys) {
        try {
          await this.claimIdle(key);
        } catch (error) {
          host.logger.warn({ err: error, key }, "claiming abandoned entries failed; retried at the next interval");
        }
      }
    }
  }

  /**
   * Entries Redis delivered to this consumer that it never settled: a reply lost when the connection
   * dropped, a failed XACK, or a previous run under the same name. Dispatched in stream order ahead of
   * new entries, so a lost reply cannot let a later event of the same order overtake an earlier one.
   * Listed with XPENDING (through `call`, the consumer's reading connection) and taken with XCLAIM, not
   * re-read with `XREADGROUP … 0`, which would count a delivery for entries still in flight here.
   */
  async readBacklog(keys: readonly string[], call: (command: string, ...args: (string | number)[]) => Promise<unknown>): Promise<void> {
    const { service, consumerName, inFlight, redis } = this.host;
    for (const key of keys) {
      let start = "-";
      for (;;) {
        const rows = (await call("XPENDING", key, service, start, "+", 100, consumerName)) as [string, string, number, number][];
        if (rows.length === 0) break;
        start = `(${rows[rows.length - 1]![0]}`;
        const unsettled = rows.filter(([id]) => !inFlight.has(`${key} ${id}`));
        if (unsettled.length > 0) {
          // Each with the idle time just seen as its minimum: if another replica takes the entry over in
          // between (which resets its idle time), this claim leaves it to that replica.
          const pipeline = redis.pipeline();
          for (const [id, , idle] of unsettled) pipeline.xclaim(key, service, consumerName, idle, id);
          const replies = (await pipeline.exec()) ?? [];
          const entries = replies.flatMap(([error, claimed]) => (error ? [] : (claimed as RawEntry[])));
          await this.dispatchCounted(key, entries, "redelivering an unsettled entry");
        }
        if (rows.length < 100) break;
      }
    }
  }

  /**
   * Entries this consumer still holds (in a handler, queued behind their order's lane or a shared
   * transaction, waiting to retry) must not look abandoned: after `claimIdleMs` another replica would
   * take them over. XCLAIM … JUSTID resets their idle time without counting a delivery; only entries
   * XPENDING still lists as ours are touched, never one another replica has taken over.
   */
  private async renewInFlight(): Promise<void> {
    const { redis, service, consumerName, inFlight, maxHoldMs } = this.host;
    const now = Date.now();
    const held: [string, string][] = [];
    for (const [token, since] of inFlight) {
      // Held this long: this consumer is stuck on it. No renewal, so another replica takes it over.
      if (now - since > maxHoldMs) continue;
      held.push(token.split(" ") as [string, string]);
    }
    await Promise.all(
      groupBySlot(redis, held, ([key]) => key).map(async (group) => {
        const pending = redis.pipeline();
        for (const [key, id] of group) pending.xpending(key, service, id, id, 1);
        const rows = (await pending.exec()) ?? [];
        const renew = redis.pipeline();
        group.forEach(([key, id], i) => {
          const row = (rows[i]?.[1] as [string, string, number, number][] | undefined)?.[0];
          // Still ours; the idle time just seen as the minimum, so a takeover in between is not undone.
          if (row && row[1] === consumerName) renew.xclaim(key, service, consumerName, row[2], id, "JUSTID");
        });
        if (renew.length > 0) await renew.exec();
      }),
    );
  }

  /** Takes over entries left pending longer than `claimIdleMs` by any consumer of the group. */
  private async claimIdle(key: string): Promise<void> {
    const { redis, service, consumerName, concurrency, claimIdleMs, maxHoldMs, inFlight } = this.host;
    let cursor = "0-0";
    do {
      const room = concurrency - inFlight.size;
      if (room <= 0 || !this.host.running()) return;
      // JUSTID: no delivery is counted yet, as some of these may be entries this consumer still holds.
      const [next, ids] = (await redis.call("XAUTOCLAIM", key, service, consumerName, claimIdleMs, cursor, "COUNT", room, "JUSTID")) as [
        string,
        string[],
      ];
      cursor = next;
      if (ids.length === 0) continue;
      const now = Date.now();
      const stuck: string[] = [];
      const abandoned: string[] = [];
      for (const id of ids) {
        const since = inFlight.get(`${key} ${id}`);
        if (since === undefined) abandoned.push(id);
        else if (now - since > maxHoldMs) stuck.push(id);
        // else: held here and its renewal was late; the claim just renewed it.
      }
      // An entry this consumer is stuck on, taken back by its own claim, is handed back as idle as it was,
      // so that another replica takes it over at once instead of this one counting a delivery each round.
      if (stuck.length > 0) await redis.xclaim(key, service, consumerName, 0, ...stuck, "IDLE", claimIdleMs, "JUSTID");
      if (abandoned.length === 0) continue;
      // Counts the delivery (what bounds a crash loop on a poison entry) and returns the fields. Idle since
      // the claim above, so no other replica can have taken them in between.
      const entries = (await redis.xclaim(key, service, consumerName, 0, ...abandoned)) as RawEntry[];
      await this.dispatchCounted(key, entries, "claimed an abandoned entry");
    } while (cursor !== "0-0");
  }

  /**
   * Dispatches entries this consumer owns again (claimed or re-read), with their delivery count from
   * XPENDING: the count that bounds crash loops on poison entries.
   */
  private async dispatchCounted(key: string, entries: RawEntry[], why: string): Promise<void> {
    const { redis, service, consumerName, inFlight, logger } = this.host;
    const gone = entries.filter(([, fields]) => !fields).map(([entryId]) => entryId);
    // Deleted from the stream while pending (XDEL, or trimmed by hand): nothing left to handle.
    if (gone.length > 0) await redis.xack(key, service, ...gone);
    const live = entries.filter(([entryId, fields]) => fields && !inFlight.has(`${key} ${entryId}`));
    if (live.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [entryId] of live) pipeline.xpending(key, service, entryId, entryId, 1);
    const counts = (await pipeline.exec()) ?? [];
    live.forEach(([entryId, fields], i) => {
      const row = (counts[i]?.[1] as [string, string, number, number][] | undefined)?.[0];
      if (!row || row[1] !== consumerName) return; // acknowledged or claimed by another consumer meanwhile
      logger.warn({ key, entryId, deliveries: row[3] }, why);
      this.host.dispatch({ key, entryId, fields: fieldsOf(fields), deliveries: row[3] });
    });
  }
}
