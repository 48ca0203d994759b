import { randomUUID } from "node:crypto";
import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { storableError } from "./notification.entity";

/** One try at delivering a notification, kept for operators (why did this e-mail fail?). */
@Entity({ tableName: "delivery_attempts" })
export class DeliveryAttempt {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "uuid", index: true })
  notificationId: string;

  @Property({ type: "timestamptz" })
  at: Opt<Date> = new Date();

  @Property({ type: "boolean" })
  ok: boolean;

  @Property({ type: "text", nullable: true })
  error: string | null;

  constructor(notificationId: string, error: string | null) {
    this.notificationId = notificationId;
    this.ok = error === null;
    this.error = error === null ? null : storableError(error);
  }
}
