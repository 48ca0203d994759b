import type { EventSubscriber, TransactionEventArgs } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { createEvent, insertOutbox } from "@commerce/streams";
import { Preferences } from "../preferences/preferences.entity";
import type { Recipient } from "../recipient/recipient.entity";
import type { TemplateData, TemplateKey } from "../template/catalog";
import { render } from "../template/render";
import { Notification, type Channel } from "./notification.entity";

/**
 * Transactions that inserted PENDING notifications. No Postgres NOTIFY: a notifying commit takes a
 * server-wide lock until its commit record is flushed, serialising commits of every database on the server
 * (streams/PROTOCOL.md). The delivery job of this process is woken when such a transaction commits
 * ({@link wakeOnPendingCommit}); other replicas find the rows at their next poll.
 */
const pendingCommits = new WeakSet<object>();

/**
 * An ORM subscriber that calls `wake` after each commit of a transaction that created notifications:
 * waking before the commit would find nothing to claim and leave the rows to the poll.
 */
export function wakeOnPendingCommit(wake: () => void): EventSubscriber {
  return {
    afterTransactionCommit: (args: TransactionEventArgs) => {
      if (pendingCommits.has(args.em)) wake();
    },
  };
}

/** What a message needs to know of its recipient. */
export type RecipientInfo = Pick<Recipient, "userId" | "email" | "name" | "role">;

export interface NotifyRequest<K extends TemplateKey> {
  /** The event being handled: with channel and user, the dedupe key of each notification. */
  eventId: string;
  template: K;
  userIds: readonly string[];
  orderId?: string | null;
  /**
   * The template's values for one recipient (null when the user is not replicated yet); `orderName` is
   * added here for every message about an order.
   */
  data: (recipient: RecipientInfo | null) => Omit<TemplateData<K>, "orderName">;
}

/**
 * Creates the notifications of one event: for each user, one per channel that
 * has a template and that the user has not switched off. Runs in the handler's
 * transaction; a notification that already exists for this event, channel and
 * user is left alone. E-mail and SMS are created PENDING and sent later, by the
 * job; in-app messages are delivered by this insert.
 */
export async function notify<K extends TemplateKey>(em: EntityManager, request: NotifyRequest<K>): Promise<number> {
  if (!request.userIds.length) return 0;
  const { templates, preferencesOf, recipients, orderName } = await readForNotify(em, request.template, request.userIds, request.orderId ?? null);

  const rows: Notification[] = [];
  for (const userId of request.userIds) {
    const preferences = preferencesOf(userId);
    const data = { ...request.data(recipients.get(userId) ?? null), ...(orderName === null ? {} : { orderName }) } as TemplateData<K>;
    for (const template of templates) {
      if (!preferences.wants(template.channel)) continue;
      const html = template.channel === "EMAIL";
      rows.push(
        new Notification({
          userId,
          orderId: request.orderId ?? null,
          channel: template.channel,
          template: request.template,
          subject: template.subject === null ? null : render(template.subject, data),
          body: render(template.body, data, { html }),
          eventId: request.eventId,
        }),
      );
    }
  }
  if (!rows.length) return 0;

  const inserted = await em.execute<{ id: string; status: string }[]>(
    `insert into notifications (id, user_id, order_id, channel, template, subject, body, status, attempts, created_at, next_attempt_at, dedupe_key
       , sent_at)
     select r.id, r.user_id, r.order_id, r.channel, r.template, r.subject, r.body, r.status, r.attempts, r.created_at, r.created_at, r.dedupe_key, r.sent_at
     from jsonb_to_recordset(?::jsonb) as r(id uuid, user_id text, order_id text, channel text, template text, subject text, body text,
                                            status text, attempts int, created_at timestamptz, dedupe_key text, sent_at timestamptz)
     on conflict (dedupe_key) do nothing
     returning id, status`,
    [
      JSON.stringify(
        rows.map((n) => ({
          id: n.id,
          user_id: n.userId,
          order_id: n.orderId,
          channel: n.channel,
          template: n.template,
          subject: n.subject,
          body: n.body,
          status: n.status,
          attempts: n.attempts,
          created_at: n.createdAt.toISOString(),
          dedupe_key: n.dedupeKey,
          sent_at: n.sentAt?.toISOString() ?? null,
        })),
      ),
    ],
  );
  if (inserted.some((row) => row.status === "PENDING")) pendingCommits.add(em);
  // In-app messages are announced in the same transaction: the gateway pushes them to `myNotifications`.
  const written = new Set(inserted.map((row) => row.id));
  const inApp = rows.filter((n) => n.channel === "IN_APP" && written.has(n.id));
  if (inApp.length)
    await insertOutbox(
      em,
      inApp.map((n) => createdEvent(n, request.eventId)),
    );
  return inserted.length;
}

function createdEvent(n: Notification, causationId: string) {
  return createEvent(
    "notification.created",
    {
      notificationId: n.id,
      userId: n.userId,
      orderId: n.orderId,
      channel: n.channel,
      template: n.template,
      subject: n.subject,
      body: n.body,
      status: n.status,
      createdAt: n.createdAt.toISOString(),
      sentAt: n.sentAt?.toISOString() ?? null,
    },
    { correlationId: n.orderId ?? n.userId, causation: { id: causationId } },
  );
}

/** How a recipient is greeted when the `user` stream has not told us their name yet. */
export const nameOf = (recipient: RecipientInfo | null): string => recipient?.name || "there";

/**
 * Tells an order's owner (`payload.userId`) about it from `template`, with their name, the order id and
 * `extra`. The dedupe key (event, channel, user) makes a redelivery a no-op.
 */
export async function notifyOrderOwner<K extends TemplateKey>(
  em: EntityManager,
  event: { id: string; payload: { orderId: string; userId: string } },
  template: K,
  extra: Omit<TemplateData<K>, "name" | "orderId" | "orderName">,
): Promise<void> {
  const { orderId, userId } = event.payload;
  await notify(em, {
    eventId: event.id,
    template,
    userIds: [userId],
    orderId,
    data: (recipient) => ({ name: nameOf(recipient), orderId, ...extra }) as Omit<TemplateData<K>, "orderName">,
  });
}

/** How many items a return sends back ("3 items"): product names are not kept by this service. */
export const unitsOf = (lines: { quantity: number }[]): string => {
  const units = lines.reduce((sum, line) => sum + line.quantity, 0);
  return units === 1 ? "1 item" : `${units} items`;
};

/**
 * Everything one event's messages need, in one statement: the template's channels, each user's
 * switches (the defaults of `Preferences` for users without a row), the recipients and the order's
 * name (its id when it has none: messages call an order by its name, else its id).
 */
async function readForNotify(em: EntityManager, key: string, userIds: readonly string[], orderId: string | null) {
  const [row] = await em.execute<
    {
      templates: { channel: Channel; subject: string | null; body: string }[];
      preferences: { userId: string; email: boolean; inApp: boolean; sms: boolean }[];
      recipients: RecipientInfo[];
      orderName: string | null;
    }[]
  >(
    `select
       (select coalesce(json_agg(json_build_object('channel', t.channel, 'subject', t.subject, 'body', t.body) order by t.channel), '[]')
          from templates t where t.key = ?) as templates,
       (select coalesce(json_agg(json_build_object('userId', p.user_id, 'email', p.email, 'inApp', p.in_app, 'sms', p.sms)), '[]')
          from preferences p where p.user_id = any(?::text[])) as preferences,
       (select coalesce(json_agg(json_build_object('userId', r.user_id, 'email', r.email, 'name', r.name, 'role', r.role)), '[]')
          from recipients r where r.user_id = any(?::text[])) as recipients,
       (select coalesce(n.name, ?::text) from (select 1) x left join order_names n on n.order_id = ?) as "orderName"`,
    [key, toTextArray(userIds), toTextArray(userIds), orderId, orderId],
  );
  const { templates, preferences, recipients, orderName } = row!;
  const switches = new Map(preferences.map((p) => [p.userId, p]));
  const preferencesOf = (userId: string) => Object.assign(new Preferences(userId), switches.get(userId));
  return { templates, preferencesOf, recipients: new Map(recipients.map((r) => [r.userId, r])), orderName };
}

/** A Postgres text[] literal. */
function toTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
