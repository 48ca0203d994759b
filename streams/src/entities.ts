import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * A row of the transactional outbox: an event written in the same transaction as the state change
 * that produced it. Insert-only: the relay decodes the insert from the WAL and publishes it. Written
 * with raw SQL by `commitWithEvents` (one multi-row insert); mapped here so services can query it.
 */
@Entity({ tableName: "outbox" })
export class OutboxRecord {
  /** Allocated at insert; the relay publishes in commit order (decoding), and catches up in id order. */
  @PrimaryKey({ type: "bigint", autoincrement: true })
  id!: string;

  @Property({ type: "uuid", unique: true })
  eventId!: string;

  @Property({ type: "text" })
  type!: string;

  /** The producer stream (`order`, `product`…), not the full Redis key: the prefix belongs to the deployment. */
  @Property({ type: "text" })
  stream!: string;

  @Property({ type: "text" })
  correlationId!: string;

  /** The whole envelope, published verbatim. */
  @Property({ type: "json", columnType: "jsonb" })
  payload!: Record<string, unknown>;

  /** Start of the producing transaction; retention deletes by it. When it was published: `outbox_publication`. */
  @Index({ name: "outbox_created_at_idx" })
  @Property({ type: "datetime", columnType: "timestamptz", defaultRaw: "now()" })
  createdAt!: Date;
}

/**
 * The record that a consumer group has applied an event. Inserted in the handler's transaction,
 * so a redelivered event finds it and becomes a no-op: exactly-once effects over at-least-once delivery.
 */
@Entity({ tableName: "processed_event" })
export class ProcessedEvent {
  @PrimaryKey({ type: "uuid" })
  eventId!: string;

  /** The consumer group (service) that applied it: one database may host several groups. */
  @PrimaryKey({ type: "text" })
  consumerGroup!: string;

  @Index({ name: "processed_event_processed_at_idx" })
  @Property({ type: "datetime", columnType: "timestamptz", defaultRaw: "now()" })
  processedAt!: Date;
}

/** Add to every service's ORM `entities`. */
export const streamsEntities = [OutboxRecord, ProcessedEvent];
