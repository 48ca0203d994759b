import { assertNever } from "@commerce/kit";
import { randomUUID } from "node:crypto";
import { Entity, Enum, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";

export const CHANNELS = ["EMAIL", "IN_APP", "SMS"] as const;
export type Channel = (typeof CHANNELS)[number];
export const ChannelEnum = Object.fromEntries(CHANNELS.map((c) => [c, c])) as { [K in Channel]: K };
registerEnumType(ChannelEnum, { name: "NotificationChannel" });

export const NOTIFICATION_STATUSES = ["PENDING", "SENT", "FAILED"] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export const NotificationStatusEnum = Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, s])) as { [K in NotificationStatus]: K };
registerEnumType(NotificationStatusEnum, { name: "NotificationStatus" });

/** How failed deliveries are retried. */
export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the next try after `attempts` failures. */
  delayMs(attempts: number): number;
}

/** What became of a delivery attempt. */
export type AttemptOutcome = "sent" | "retry" | "failed" | "stale";

/**
 * One message to one user on one channel. Created PENDING by an event handler
 * (the dedupe key — event, channel, user — makes a redelivered event a no-op),
 * then PENDING → SENT, or PENDING → PENDING (retry later) → … → FAILED after
 * the last allowed attempt. SENT and FAILED are final. IN_APP messages are
 * created SENT: storing them is their delivery.
 */
@ObjectType()
@Entity({ tableName: "notifications" })
@Index({ properties: ["userId", "createdAt", "id"] })
export class Notification {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "text" })
  userId: string;

  @Property({ type: "text", nullable: true, index: true })
  orderId: string | null;

  @Field(() => ChannelEnum)
  @Enum({ items: () => CHANNELS, type: "text" })
  channel: Channel;

  @Field(() => String, { description: "The template key, e.g. order_confirmed." })
  @Property({ type: "text" })
  template: string;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  subject: string | null;

  @Field(() => String)
  @Property({ type: "text" })
  body: string;

  @Field(() => NotificationStatusEnum)
  @Enum({ items: () => NOTIFICATION_STATUSES, type: "text" })
  status: Opt<NotificationStatus> = "PENDING";

  @Property({ type: "integer" })
  attempts: Opt<number> = 0;

  @Property({ type: "text", nullable: true })
  lastError: string | null = null;

  // Set in JS (millisecond precision) so keyset cursors compare exactly.
  @Field(() => Date)
  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: "timestamptz", nullable: true })
  sentAt: Date | null = null;

  @Property({ type: "timestamptz" })
  nextAttemptAt: Opt<Date> = new Date();

  @Property({ type: "text", unique: true })
  dedupeKey: string;

  constructor(init: {
    userId: string;
    orderId: string | null;
    channel: Channel;
    template: string;
    subject: string | null;
    body: string;
    eventId: string;
  }) {
    this.userId = init.userId;
    this.orderId = init.orderId;
    this.channel = init.channel;
    this.template = init.template;
    this.subject = init.subject;
    this.body = init.body;
    this.dedupeKey = `${init.eventId}:${init.channel}:${init.userId}`;
    if (init.channel === "IN_APP") {
      // An in-app message is delivered by being stored: nothing to send, nothing to retry.
      this.status = "SENT";
      this.attempts = 1;
      this.sentAt = this.createdAt;
    }
  }

  /** Records one delivery attempt; `error` null means it went out. */
  recordAttempt(error: string | null, policy: RetryPolicy, at = new Date()): AttemptOutcome {
    switch (this.status) {
      case "PENDING":
        break;
      case "SENT":
      case "FAILED":
        // Another replica finished it after our lease ran out: keep its result.
        return "stale";
      default:
        return assertNever(this.status);
    }
    this.attempts += 1;
    if (error === null) {
      this.status = "SENT";
      this.sentAt = at;
      this.lastError = null;
      return "sent";
    }
    this.lastError = storableError(error);
    if (this.attempts >= policy.maxAttempts) {
      this.status = "FAILED";
      return "failed";
    }
    this.nextAttemptAt = new Date(at.getTime() + policy.delayMs(this.attempts));
    return "retry";
  }
}

/** An error text as a row can hold it: Postgres text refuses NUL (a failing record would resend the message), and long texts are cut. */
export function storableError(error: string): string {
  return error.replaceAll("\u0000", "").slice(0, 1_000);
}
