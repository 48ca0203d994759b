/**
 * `@commerce/streams`: the event backbone. Transactional outbox → relay → Redis Streams → consumer groups
 * with exactly-once effects, dead letters and trimming. The wire rules are in `streams/PROTOCOL.md`.
 */
export { streamKey, dlqKey, replayKey } from './keys';
export { OutboxRecord, ProcessedEvent, streamsEntities } from './entities';
export { streamsMigrations, Migration20250101000000StreamsOutbox } from './migrations';
export { createEvent, type CreateEventOptions } from './create-event';
export { commitWithEvents, insertOutbox, OUTBOX_CHANNEL, type Emit, type CommitOptions } from './outbox';
export { OutboxNotifier, notifierFor } from './notifier';
export { OutboxRelay, type OutboxRelayOptions, type RelayStopOptions } from './relay';
export { activeTraceparent, contextFromTraceparent, inSpan } from './trace-context';
export {
  StreamConsumer,
  type StreamConsumerOptions,
  type Handler,
  type Handlers,
  type HandlerContext,
  type ConsumerStats,
} from './consumer';
export { DeadLetters, type DeadLetter } from './dead-letters';
export { StreamTrimmer, type StreamTrimmerOptions } from './trimmer';
