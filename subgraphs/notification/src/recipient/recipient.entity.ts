import { Entity, Enum, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ROLES, type Role } from "@commerce/kit";

/**
 * What this service knows of a user, replicated from the `user` stream:
 * where to send e-mail, how to greet them, and who is STAFF (for low-stock alerts).
 */
@Entity({ tableName: "recipients" })
export class Recipient {
  @PrimaryKey({ type: "text" })
  userId: string;

  @Property({ type: "text" })
  email: string;

  @Property({ type: "text" })
  name: string;

  @Enum({ items: () => ROLES, type: "text" })
  role: Role;

  @Property({ type: "timestamptz" })
  updatedAt: Opt<Date> = new Date();

  constructor(userId: string, email: string, name: string, role: Role) {
    this.userId = userId;
    this.email = email;
    this.name = name;
    this.role = role;
  }
}

/** Inserts or refreshes the replica of a user (idempotent; the `user` stream is ordered per producer). */
export async function upsertRecipient(em: EntityManager, user: { userId: string; email: string; name: string; role: Role }): Promise<void> {
  await em.execute(
    `insert into recipients (user_id, email, name, role, updated_at) values (?, ?, ?, ?, now())
     on conflict (user_id) do update set email = excluded.email, name = excluded.name, role = excluded.role, updated_at = now()`,
    [user.userId, user.email, user.name, user.role],
  );
}
