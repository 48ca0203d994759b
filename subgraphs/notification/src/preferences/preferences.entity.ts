import { assertNever } from "@commerce/kit";
import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Field, ObjectType } from "type-graphql";
import type { Channel } from "../notification/notification.entity";

/** Which channels a user wants. No row means the defaults: e-mail and in-app on, SMS off. */
@ObjectType("NotificationPreferences")
@Entity({ tableName: "preferences" })
export class Preferences {
  @PrimaryKey({ type: "text" })
  userId: string;

  @Field(() => Boolean)
  @Property({ type: "boolean" })
  email: Opt<boolean> = true;

  @Field(() => Boolean)
  @Property({ type: "boolean" })
  inApp: Opt<boolean> = true;

  @Field(() => Boolean)
  @Property({ type: "boolean" })
  sms: Opt<boolean> = false;

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Opt<Date> = new Date();

  constructor(userId: string) {
    this.userId = userId;
  }

  wants(channel: Channel): boolean {
    switch (channel) {
      case "EMAIL":
        return this.email;
      case "IN_APP":
        return this.inApp;
      case "SMS":
        return this.sms;
      default:
        return assertNever(channel);
    }
  }

  /** Changes only the switches given (null/undefined leaves one as it is). */
  update(changes: { email?: boolean | null; inApp?: boolean | null; sms?: boolean | null }): void {
    this.email = changes.email ?? this.email;
    this.inApp = changes.inApp ?? this.inApp;
    this.sms = changes.sms ?? this.sms;
  }
}

/** The preferences of each user, defaults for those who never changed them. */
export async function preferencesOf(em: EntityManager, userIds: readonly string[]): Promise<Preferences[]> {
  const rows = await em.find(Preferences, { userId: { $in: [...userIds] } });
  const map = new Map(rows.map((row) => [row.userId, row]));
  return userIds.map((id) => map.get(id) ?? new Preferences(id));
}
