import { z } from "zod";
import { IsoDateTime, MalformedEventError } from "./common";
import { contracts, isEventType, type EventPayload, type EventType, type EventVersion } from "./registry";

/** The envelope shape every event shares, whatever its type. */
const EnvelopeBase = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: IsoDateTime,
  correlationId: z.string().min(1),
  causationId: z.uuid().nullable(),
  traceparent: z.string().optional(),
  payload: z.unknown(),
});

/**
 * One event: `type` at `version`, with its payload.
 * `correlationId` is the order id for saga events; `causationId` the id of the event that caused this one.
 */
export interface EventEnvelope<T extends EventType = EventType, V extends EventVersion<T> = EventVersion<T>> {
  id: string;
  type: T;
  version: V;
  /** ISO 8601 timestamp of the producing transaction. */
  occurredAt: string;
  correlationId: string;
  causationId: string | null;
  /** W3C trace context of the producer, to continue the trace in consumers. */
  traceparent?: string;
  payload: EventPayload<T, V>;
}

/** Every event a consumer can receive: a union discriminated on `type` (then `version`). */
export type ParsedEvent = {
  [T in EventType]: { [V in EventVersion<T>]: EventEnvelope<T, V> }[EventVersion<T>];
}[EventType];

/** The event of one type, e.g. `EventOf<'order.placed'>`, for handler signatures. */
export type EventOf<T extends EventType> = Extract<ParsedEvent, { type: T }>;

function describe(error: z.ZodError, prefix: string): string {
  return error.issues.map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/**
 * Validates an unknown value (a decoded stream message) against the envelope and the contract of its
 * type and version. The one entry point every consumer uses.
 *
 * @throws MalformedEventError naming what is wrong: unknown type, unknown version, or the bad field path.
 */
export function parseEvent(input: unknown): ParsedEvent {
  const envelope = EnvelopeBase.safeParse(input);
  if (!envelope.success) {
    throw new MalformedEventError(`malformed envelope: ${describe(envelope.error, "")}`);
  }
  const { type, version, id } = envelope.data;
  if (!isEventType(type)) {
    throw new MalformedEventError(`unknown event type "${type}" (event ${id}); add its contract to schema/events`);
  }
  const schema = (contracts[type] as Record<number, z.ZodType>)[version];
  if (!schema) {
    const known = Object.keys(contracts[type]).join(", ");
    throw new MalformedEventError(`unknown version ${version} of "${type}" (event ${id}); this consumer knows version(s) ${known}`);
  }
  const payload = schema.safeParse(envelope.data.payload);
  if (!payload.success) {
    throw new MalformedEventError(`invalid ${type} v${version} (event ${id}): ${describe(payload.error, "payload")}`);
  }
  const event = { ...envelope.data, payload: payload.data };
  return event as ParsedEvent;
}
