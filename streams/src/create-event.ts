import { randomUUID } from "node:crypto";
import { parseEvent, producedVersions, type EventEnvelope, type EventOf, type EventPayload, type EventType } from "@commerce/schema";
import { activeTraceparent } from "./trace-context";

/** Where an event comes from: its correlation and, for events emitted by a handler, the event that caused it. */
export interface CreateEventOptions {
  /** The order id for saga events; the aggregate id otherwise. */
  correlationId: string;
  /**
   * The event being handled: becomes `causationId`; its trace context is carried on when neither
   * `traceparent` is given nor a span is active (inside a consumer the handler's span is active).
   */
  causation?: Pick<EventEnvelope, "id" | "traceparent">;
  /** W3C trace context to carry; by default the active span's (the request's or the handler's). */
  traceparent?: string;
}

/**
 * Builds an event at the version producers emit, validated against its contract.
 *
 * @throws MalformedEventError when the payload does not match the contract: a producer bug, caught before commit.
 */
export function createEvent<T extends EventType>(type: T, payload: EventPayload<T>, options: CreateEventOptions): EventOf<T> {
  const traceparent = options.traceparent ?? activeTraceparent() ?? options.causation?.traceparent;
  const envelope = {
    id: randomUUID(),
    type,
    version: producedVersions[type],
    occurredAt: new Date().toISOString(),
    correlationId: options.correlationId,
    causationId: options.causation?.id ?? null,
    ...(traceparent ? { traceparent } : {}),
    payload,
  };
  return parseEvent(envelope) as EventOf<T>;
}
