import type Redis from "ioredis";
import { dlqKey, replayKey } from "./keys";
import { eventFields, fieldsOf, type RawEntry } from "./wire";

/** A dead-lettered entry: where it failed, why, and the original envelope. */
export interface DeadLetter {
  /** Id of the entry in the dead-letter stream: what `show`, `replay` and `discard` take. */
  id: string;
  /** The stream key the entry was read from. */
  stream: string;
  /** Its id there. */
  entryId: string;
  group: string;
  consumer: string;
  type: string;
  error: string;
  attempts: number;
  /** The envelope as it was on the stream (raw JSON: it may be malformed, that may be why it is here). */
  envelope: string;
  failedAt: string;
}

/**
 * Operator access to a service's dead-letter stream `<prefix>:dlq:<service>`.
 *
 * Replay re-publishes the original envelope to `<prefix>:replay:<service>`, a stream only that service's
 * group reads, so only the handler that failed runs again; no other service sees the event twice.
 */
export class DeadLetters {
  constructor(private readonly options: { redis: Redis; prefix: string }) {}

  /** The oldest `count` dead letters (default 50), or those after `after` to page on. */
  async list(service: string, { count = 50, after }: { count?: number; after?: string } = {}): Promise<DeadLetter[]> {
    const start = after ? `(${after}` : "-";
    const entries = (await this.options.redis.xrange(dlqKey(this.options.prefix, service), start, "+", "COUNT", count)) as RawEntry[];
    return entries.map(toDeadLetter);
  }

  /** One dead letter, or null. */
  async show(service: string, id: string): Promise<DeadLetter | null> {
    const [entry] = (await this.options.redis.xrange(dlqKey(this.options.prefix, service), id, id)) as RawEntry[];
    return entry ? toDeadLetter(entry) : null;
  }

  /**
   * Sends the original envelope back to the service's group and removes the dead letter, atomically.
   * The handler runs again with a fresh delivery count. False when there is no such dead letter.
   */
  async replay(service: string, id: string): Promise<boolean> {
    const letter = await this.show(service, id);
    if (!letter) return false;
    const { redis, prefix } = this.options;
    const results = await redis
      .multi()
      .xadd(replayKey(prefix, service), "*", ...eventFields(envelopeIdentity(letter), letter.envelope))
      .xdel(dlqKey(prefix, service), id)
      .exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (!results || failure) throw failure ?? new Error("MULTI aborted");
    return true;
  }

  /** Replays every dead letter of `service`, oldest first; returns how many. */
  async replayAll(service: string): Promise<number> {
    let replayed = 0;
    for (;;) {
      const batch = await this.list(service, { count: 100 });
      if (batch.length === 0) return replayed;
      for (const letter of batch) if (await this.replay(service, letter.id)) replayed += 1;
    }
  }

  /** Deletes a dead letter for good. False when there was none. */
  async discard(service: string, id: string): Promise<boolean> {
    return (await this.options.redis.xdel(dlqKey(this.options.prefix, service), id)) > 0;
  }
}

function toDeadLetter([id, raw]: RawEntry): DeadLetter {
  const f = fieldsOf(raw);
  return {
    id,
    stream: f.stream ?? "",
    entryId: f.entryId ?? "",
    group: f.group ?? "",
    consumer: f.consumer ?? "",
    type: f.type ?? "unknown",
    error: f.error ?? "",
    attempts: Number(f.attempts ?? 0),
    envelope: f.envelope ?? "",
    failedAt: f.failedAt ?? "",
  };
}

function envelopeIdentity(letter: DeadLetter): { id: string; type: string } {
  try {
    const parsed = JSON.parse(letter.envelope) as { id?: unknown; type?: unknown };
    return { id: String(parsed.id ?? ""), type: String(parsed.type ?? letter.type) };
  } catch {
    return { id: "", type: letter.type };
  }
}
