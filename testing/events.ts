import type Redis from "ioredis";
import { parseEvent, streamForType, type EventPayload, type EventType, type ParsedEvent } from "@commerce/schema";
import { createEvent, streamKey } from "@commerce/streams";

// Test-only helpers: play another service's part on the streams (shared by every subgraph's tests).

/** Builds an event as its producer would. */
export function event<T extends EventType>(type: T, payload: EventPayload<T>, correlationId = "test"): ParsedEvent {
  return createEvent(type, payload, { correlationId }) as ParsedEvent;
}

/** Appends an event to its producer's stream, exactly as the outbox relay does. */
export async function publish(redis: Redis, prefix: string, envelope: ParsedEvent): Promise<void> {
  await redis.xadd(streamKey(prefix, streamForType(envelope.type)), "*", "id", envelope.id, "type", envelope.type, "envelope", JSON.stringify(envelope));
}

/** Every event on one producer's stream so far, oldest first. */
export async function streamEvents(redis: Redis, prefix: string, producer: string): Promise<ParsedEvent[]> {
  const entries = (await redis.xrange(streamKey(prefix, producer), "-", "+")) as [string, string[]][];
  return entries.map(([, fields]) => parseEvent(JSON.parse(fields[fields.indexOf("envelope") + 1])));
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
