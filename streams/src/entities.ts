import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A row of the transactional outbox: an event written in the same transaction as the state change
 * that produced it, waiting for the relay to publish it. Written with raw SQL by `commitWithEvents`
 * (one multi-row insert); mapped here so services see the table in their schema and can query it.
 */
@Entity({ tableName: 'outbox' })
export class OutboxRecord {
  /** Allocated at insert, after the domain changes, so events of a row-locked aggregate get ids in commit order. */
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'uuid', unique: true })
  eventId!: string;

  @Property({ type: 'text' })
  type!: string;

  /** The producer stream (`order`, `product`…), not the full Redis key: the prefix belongs to the deployment. */
  @Property({ type: 'text' })
  stream!: string;

  @Property({ type: 'text' })
  correlationId!: string;

  /** The whole envelope, published verbatim. */
  @Property({ type: 'json', columnType: 'jsonb' })
  payload!: Record<string, unknown>;

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt!: Date;

  @Index({ name: 'outbox_published_at_idx' })
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  publishedAt?: Date | null;

  /** The inserting transaction (`pg_current_xact_id()`): the relay's commit-order guard, see PROTOCOL.md. */
  @Property({ type: 'string', columnType: 'xid8', defaultRaw: 'pg_current_xact_id()' })
  txId!: string;
}

/**
 * The record that a consumer group has applied an event. Inserted in the handler's transaction,
 * so a redelivered event finds it and becomes a no-op: exactly-once effects over at-least-once delivery.
 */
@Entity({ tableName: 'processed_event' })
export class ProcessedEvent {
  @PrimaryKey({ type: 'uuid' })
  eventId!: string;

  /** The consumer group (service) that applied it: one database may host several groups. */
  @PrimaryKey({ type: 'text' })
  consumerGroup!: string;

  @Index({ name: 'processed_event_processed_at_idx' })
  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  processedAt!: Date;
}

/** Add to every service's ORM `entities`. */
export const streamsEntities = [OutboxRecord, ProcessedEvent];
