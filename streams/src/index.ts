/**
 * `@commerce/streams`: the event backbone. Transactional outbox → relay (logical decoding) → Redis Streams → consumer groups
 * with exactly-once effects, dead letters and trimming. The wire rules are in `streams/PROTOCOL.md`.
 */
export { streamKey, dlqKey, dlqIndexKey, replayKey } from "./keys";
export { eventFields } from "./wire";
export { OutboxRecord, ProcessedEvent, streamsEntities } from "./entities";
export { streamsMigrations, Migration20250101000000StreamsOutbox, Migration20261207000000StreamsLogicalRelay } from "./migrations";
export { createEvent, type CreateEventOptions } from "./create-event";
export { openStreamsOrm } from "./orm";
export { commitWithEvents, insertOutbox, OUTBOX_INSERT, outboxRows, type Emit, type CommitOptions } from "./outbox";
export { OutboxRelay, RELAY_APPLICATION_NAME, type OutboxRelayOptions, type RelayStopOptions, type RelayStats } from "./relay";
export { OutboxRetention, type OutboxRetentionOptions } from "./retention";
export { OUTBOX_PUBLICATION, slotNameFor, slotState, type SlotState } from "./slot";
export { PUBLISHED_AT_SQL } from "./publication-log";
export type { OutboxEntry } from "./publisher";
export { activeTraceparent, contextFromTraceparent, inSpan } from "./trace-context";
export { StreamConsumer, type StreamConsumerOptions, type Handler, type Handlers, type HandlerContext, type ConsumerStats } from "./consumer";
export { DeadLetters, writeDeadLetter, type DeadLetter, type DeadLetterRecord } from "./dead-letters";
export { StreamTrimmer, type StreamTrimmerOptions } from "./trimmer";
export {
  createRedis,
  redisUrlFromEnv,
  isClusterUrl,
  parseClusterUrl,
  dataNodes,
  hashTag,
  isCluster,
  slotOf,
  groupBySlot,
  duplicateRedis,
  defaultReplicaAcks,
  NotReplicatedError,
  followRedirection,
  type RedisClient,
} from "./redis-client";
