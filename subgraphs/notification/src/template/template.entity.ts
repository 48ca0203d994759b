import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Field, ObjectType } from "type-graphql";
import { ChannelEnum, type Channel } from "../notification/notification.entity";
import { DEFAULT_TEMPLATES } from "./catalog";

/** The text of one notification kind on one channel; ADMIN-editable. */
@ObjectType("NotificationTemplate")
@Entity({ tableName: "templates" })
export class Template {
  @Field(() => String)
  @PrimaryKey({ type: "text" })
  key: string;

  @Field(() => ChannelEnum)
  @PrimaryKey({ type: "text" })
  channel: Channel;

  @Field(() => String, { nullable: true })
  @Property({ type: "text", nullable: true })
  subject: string | null;

  @Field(() => String)
  @Property({ type: "text" })
  body: string;

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Opt<Date> = new Date();

  constructor(key: string, channel: Channel, subject: string | null, body: string) {
    this.key = key;
    this.channel = channel;
    this.subject = subject;
    this.body = body;
  }
}

/** Inserts the default templates that are missing; never overwrites an edited one. */
export async function seedDefaultTemplates(em: EntityManager): Promise<void> {
  await em.execute(
    `insert into templates (key, channel, subject, body, updated_at)
     select t->>'key', t->>'channel', t->>'subject', t->>'body', now() from jsonb_array_elements(?::jsonb) as t
     on conflict (key, channel) do nothing`,
    [JSON.stringify(DEFAULT_TEMPLATES)],
  );
}
