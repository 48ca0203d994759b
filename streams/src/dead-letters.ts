import { dlqIndexKey, dlqKey, replayKey } from "./keys";
import { execDurably, type Durability, type RedisClient } from "./redis-client";
import { eventFields, fieldsOf, type RawEntry } from "./wire";

/** A dead-lettered entry: where it failed, why, and the original envelope. */
export interface DeadLetter extends DeadLetterRecord {
  /** Id of the entry in the dead-letter stream: what `show`, `replay` and `discard` take. */
  id: string;
  failedAt: string;
}

/**
 * Operator access to a service's dead-letter stream `<prefix>:dlq:<service>`.
 *
 * Replay re-publishes the original envelope to `<prefix>:replay:<service>`, a stream only that service's
 * group reads, so only the handler that failed runs again; no other service sees the event twice.
 */
export class DeadLetters {
  constructor(private readonly options: { redis: RedisClient; prefix: string }) {}

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
    // One hash tag: the three keys are in one slot, so this MULTI is atomic on a cluster too.
    const results = await redis
      .multi()
      .xadd(replayKey(prefix, service), "*", ...eventFields(envelopeIdentity(letter), letter.envelope))
      .xdel(dlqKey(prefix, service), id)
      .hdel(dlqIndexKey(prefix, service), indexField(letter.stream, letter.entryId))
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
    const letter = await this.show(service, id);
    if (!letter) return false;
    const { redis, prefix } = this.options;
    const results = await redis
      .multi()
      .xdel(dlqKey(prefix, service), id)
      .hdel(dlqIndexKey(prefix, service), indexField(letter.stream, letter.entryId))
      .exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (!results || failure) throw failure ?? new Error("MULTI aborted");
    return Number(results[0]![1]) > 0;
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

/** The dead-letter index field of a source entry. */
function indexField(stream: string, entryId: string): string {
  return `${stream} ${entryId}`;
}

/**
 * Writes the dead letter of source entry (`stream`, `entryId`) unless the index says it was written
 * already; returns the dead letter's id either way. The index and the dead-letter stream share a slot.
 */
const WRITE_ONCE = `
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return existing end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('HSET', KEYS[2], ARGV[1], id)
return id`;

/** What a dead letter records (PROTOCOL.md "Retries and dead letters"). */
export interface DeadLetterRecord {
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
}

/**
 * Writes `letter` to the group's dead-letter stream at most once per source entry (a redelivery after a
 * crash between this and the XACK finds the first one), then waits for `replicaAcks` replicas: the
 * caller acknowledges the source entry only after this resolved, so a fail-over cannot lose both.
 * Returns the dead letter's id.
 */
export async function writeDeadLetter(redis: RedisClient, prefix: string, letter: DeadLetterRecord, durability: Durability): Promise<string> {
  const fields = [
    "stream",
    letter.stream,
    "entryId",
    letter.entryId,
    "group",
    letter.group,
    "consumer",
    letter.consumer,
    "type",
    letter.type,
    "error",
    letter.error,
    "attempts",
    String(letter.attempts),
    "envelope",
    letter.envelope,
    "failedAt",
    new Date().toISOString(),
  ];
  const pipeline = redis
    .pipeline()
    .eval(WRITE_ONCE, 2, dlqKey(prefix, letter.group), dlqIndexKey(prefix, letter.group), indexField(letter.stream, letter.entryId), ...fields);
  const [id] = await execDurably(redis, pipeline, durability);
  return String(id);
}
