/**
 * The shape of stream entries. Event entries carry `id`, `type` (both for humans reading the stream with
 * redis-cli) and `envelope`, the JSON the consumer parses; nothing else is trusted.
 */

/** A stream entry as ioredis returns it: `[entryId, [field, value, field, value, …]]`. */
export type RawEntry = [string, string[] | null];

/** Field/value pairs of an entry as an object. */
export function fieldsOf(fields: readonly string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fields) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

/** The fields of an event entry, for XADD. */
export function eventFields(envelope: { id: string; type: string }, json: string): string[] {
  return ["id", envelope.id, "type", envelope.type, "envelope", json];
}

/** The smallest stream id greater than `id` (`ms-seq` → `ms-(seq+1)`). */
export function nextStreamId(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}

/** Orders stream ids numerically (string order is wrong: `9-0` < `10-0`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const ms = BigInt(am!) - BigInt(bm!);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
