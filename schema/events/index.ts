/**
 * Versioned event contracts (`@commerce/schema`). See `streams/PROTOCOL.md` for the wire rules.
 */
export { Money, MalformedEventError } from "./common";
export { OrderStatus } from "./order";
export { ReturnStatus } from "./returns";
export {
  contracts,
  producedVersions,
  producers,
  streamForType,
  isEventType,
  type EventType,
  type EventVersion,
  type ProducedVersion,
  type EventPayload,
  type Producer,
} from "./registry";
export { parseEvent, type EventEnvelope, type ParsedEvent, type EventOf } from "./envelope";
