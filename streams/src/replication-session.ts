import type { Tracer } from "@opentelemetry/api";
import type { ClientConfig } from "pg";
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import { xaddEntries, type OutboxEntry } from "./publisher";
import type { Durability, RedisClient } from "./redis-client";
import { bigIntToLsn, lsnToBigInt, OUTBOX_PUBLICATION } from "./slot";

/** What a {@link ReplicationSession} needs. */
export interface ReplicationSessionOptions {
  connection: ClientConfig;
  slot: string;
  redis: RedisClient;
  prefix: string;
  batchSize: number;
  durability: Durability;
  tracer?: Tracer;
  /** Called once Postgres streams to this session: it holds the slot. */
  onStart(): void;
  /** Called after each XADD pipeline succeeded, before its position is confirmed; a throw fails the session. */
  onPublished(entries: readonly OutboxEntry[]): void | Promise<void>;
}

interface Transaction {
  entries: OutboxEntry[];
  /** End of the commit record: confirming it lets the slot forget the transaction. */
  endLsn: bigint;
}

/**
 * One `START_REPLICATION` session on the relay's slot: decodes each committed transaction's outbox
 * inserts, XADDs them in commit order (one pipeline at a time, at most `batchSize` events of whole
 * transactions) and confirms a transaction's commit end only after its XADD succeeded. Any failure
 * ends the session unconfirmed; the next one starts again from the slot's confirmed position.
 */
export class ReplicationSession {
  private readonly service: LogicalReplicationService;
  private current: Transaction | null = null;
  private queue: Transaction[] = [];
  private inFlight = false;
  private pumping: Promise<void> = Promise.resolve();
  private confirmed = 0n;
  private ended = false;
  private endRequested = false;
  private finish: (error?: unknown) => void = () => undefined;

  constructor(private readonly options: ReplicationSessionOptions) {
    this.service = new LogicalReplicationService(options.connection, { acknowledge: { auto: false, timeoutSeconds: 0 } });
  }

  /** Streams until the session ends: resolves when ended by {@link end}, rejects with what ended it otherwise. */
  async run(): Promise<void> {
    const ended = new Promise<void>((resolve, reject) => {
      this.finish = (error) => {
        if (this.ended) return;
        this.ended = true;
        if (error) reject(error);
        else resolve();
      };
    });
    if (this.endRequested) return;
    this.service.on("error", (error: Error) => this.finish(error));
    this.service.on("start", () => this.options.onStart());
    this.service.on("data", (_lsn: string, message: Pgoutput.Message) => this.onMessage(message));
    this.service.on("heartbeat", (lsn: string, _time: number, shouldRespond: boolean) => this.onHeartbeat(lsn, shouldRespond));
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [OUTBOX_PUBLICATION] });
    try {
      // '0/0': start at the slot's confirmed position (a later position would skip what it did not confirm).
      const subscribed = this.service.subscribe(plugin, this.options.slot, "0/0");
      await Promise.race([subscribed.then(() => this.finish()), ended]);
    } finally {
      this.ended = true;
      await this.service.destroy().catch(() => undefined);
    }
  }

  /** Ends the session; an XADD in flight still completes (see {@link settled}) but is not confirmed. */
  end(): void {
    this.endRequested = true;
    this.finish();
  }

  /** Resolves once no XADD pipeline is in flight. */
  settled(): Promise<void> {
    return this.pumping;
  }

  /** Nothing decoded waits to be published or confirmed. */
  idle(): boolean {
    return this.current === null && this.queue.length === 0 && !this.inFlight;
  }

  /** The position this session confirmed (0 before the first confirmation). */
  confirmedLsn(): bigint {
    return this.confirmed;
  }

  /** Asks the server for a keepalive (an idle session then confirms the server's position). */
  ping(): void {
    if (this.confirmed > 0n) void this.service.acknowledge(bigIntToLsn(this.confirmed - 1n), true).catch(() => undefined);
  }

  private onMessage(message: Pgoutput.Message): void {
    if (this.ended) return;
    switch (message.tag) {
      case "begin":
        this.current = { entries: [], endLsn: 0n };
        break;
      case "insert":
        this.current?.entries.push(entryOf(message.new));
        break;
      case "commit":
        if (this.current) {
          this.current.endLsn = lsnToBigInt(message.commitEndLsn ?? "0/0");
          this.queue.push(this.current);
          this.current = null;
          if (!this.inFlight) this.pumping = this.pump();
        }
        break;
      default:
        break;
    }
  }

  /** An idle session confirms the server's position: WAL of other tables must not pile up in the slot. */
  private onHeartbeat(lsn: string, shouldRespond: boolean): void {
    if (this.ended) return;
    if (this.idle()) this.advance(lsnToBigInt(lsn));
    if (shouldRespond || this.idle()) this.sendConfirmed();
  }

  private async pump(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const batch: Transaction[] = [];
        let size = 0;
        while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0]!.entries.length <= this.options.batchSize)) {
          const tx = this.queue.shift()!;
          batch.push(tx);
          size += tx.entries.length;
        }
        const entries = batch.flatMap((tx) => tx.entries);
        if (entries.length > 0) {
          await xaddEntries(this.options.redis, this.options.prefix, entries, this.options.tracer, this.options.durability);
          await this.options.onPublished(entries);
        }
        if (this.ended) return;
        this.advance(batch[batch.length - 1]!.endLsn);
        this.sendConfirmed();
      }
    } catch (error) {
      this.finish(error); // nothing of the failed batch is confirmed
    } finally {
      this.inFlight = false;
    }
  }

  private advance(lsn: bigint): void {
    if (lsn > this.confirmed) this.confirmed = lsn;
  }

  /**
   * Reports the confirmed position as written, flushed and applied. The package reports `lsn + 1`, and
   * a position of 0 is never sent: the server would take it for a real one.
   */
  private sendConfirmed(): void {
    if (this.confirmed === 0n || this.ended) return;
    void this.service.acknowledge(bigIntToLsn(this.confirmed - 1n)).catch(() => undefined);
  }
}

/** The outbox entry of a decoded insert (jsonb arrives parsed, unless a process-wide type parser says otherwise). */
function entryOf(row: Record<string, unknown>): OutboxEntry {
  const raw = row.payload as string | { traceparent?: unknown };
  const payload = typeof raw === "string" ? (JSON.parse(raw) as { traceparent?: unknown }) : raw;
  return {
    id: String(row.id),
    eventId: String(row.event_id),
    type: String(row.type),
    stream: String(row.stream),
    envelope: typeof raw === "string" ? raw : JSON.stringify(raw),
    traceparent: typeof payload.traceparent === "string" ? payload.traceparent : null,
  };
}
