import { Ctx, Field, FieldResolver, ObjectType, registerEnumType, Resolver, Root } from "type-graphql";
import { requireRole, type Context } from "@commerce/kit";
import { PUBLISHED_AT_SQL } from "@commerce/streams";
import { Order } from "./order.entity";
import { historyLoader } from "./order.queries";

/** What kind of step a timeline entry is. */
export enum TimelineKind {
  STATUS_CHANGED = "STATUS_CHANGED",
  EVENT_EMITTED = "EVENT_EMITTED",
  EVENT_PUBLISHED = "EVENT_PUBLISHED",
  EVENT_HANDLED = "EVENT_HANDLED",
}
registerEnumType(TimelineKind, { name: "TimelineKind", description: "A status change, or an event this service emitted, published or applied." });

/**
 * One step of an order's saga as the order service recorded it. The other services' steps (stock,
 * payment, notifications, dead letters) are in `npm run saga -- <orderId>`, which reads every
 * service's database: a list field cannot be merged from several subgraphs through federation.
 */
@ObjectType({ description: "One step of an order's saga as the order service saw it (ADMIN)." })
export class TimelineEntry {
  @Field(() => Date)
  at!: Date;

  @Field(() => TimelineKind)
  kind!: TimelineKind;

  /** The event's type, for event steps. */
  @Field(() => String, { nullable: true })
  eventType!: string | null;

  @Field(() => String, { nullable: true })
  eventId!: string | null;

  @Field(() => String)
  description!: string;
}

interface OutboxRow {
  correlation_id: string;
  event_id: string;
  type: string;
  created_at: Date;
  published_at: Date | null;
}
interface HandledRow {
  order_id: string;
  event_id: string;
  processed_at: Date;
  status: string;
}

/** The outbox rows and applied events of many orders: two queries per request, however many orders. */
const eventsLoader = (ctx: Context) =>
  ctx.loader<string, { emitted: OutboxRow[]; handled: HandledRow[] }>("orderTimelineEvents", async (orderIds) => {
    const ids = [...orderIds];
    const list = ids.map(() => "?").join(", ");
    const [emitted, handled] = await Promise.all([
      ctx.em.execute<OutboxRow[]>(
        `select o.correlation_id, o.event_id, o.type, o.created_at, ${PUBLISHED_AT_SQL} as published_at
         from outbox o where o.correlation_id in (${list}) order by o.id`,
        ids,
      ),
      // processed_event holds only ids: the status change an event caused says which order it was about
      ctx.em.execute<HandledRow[]>(
        `select c.order_id::text as order_id, p.event_id, p.processed_at, c.status
         from order_status_changes c join processed_event p on p.event_id = c.cause_event_id
         where c.order_id::text in (${list})`,
        ids,
      ),
    ]);
    return ids.map((id) => ({ emitted: emitted.filter((r) => r.correlation_id === id), handled: handled.filter((r) => r.order_id === id) }));
  });

@Resolver(() => Order)
export class OrderTimelineResolver {
  @FieldResolver(() => [TimelineEntry], { description: "ADMIN: status changes and the events emitted and applied here, oldest first." })
  async timeline(@Root() order: Order, @Ctx() ctx: Context): Promise<TimelineEntry[]> {
    requireRole(ctx, "ADMIN");
    const [history, events] = await Promise.all([historyLoader(ctx).load(order.id), eventsLoader(ctx).load(order.id)]);
    const entries: TimelineEntry[] = [];
    const add = (at: Date, kind: TimelineKind, description: string, eventType: string | null = null, eventId: string | null = null) =>
      entries.push(Object.assign(new TimelineEntry(), { at: new Date(at), kind, description, eventType, eventId }));
    for (const change of history) {
      const by = change.actor ? ` by ${change.actor}` : change.causeEventId ? ` on event ${change.causeEventId}` : "";
      add(
        change.at,
        TimelineKind.STATUS_CHANGED,
        `${change.previousStatus ?? "∅"} → ${change.status}${change.reason ? ` (${change.reason})` : ""}${by}`,
      );
    }
    for (const row of events.emitted) {
      add(row.created_at, TimelineKind.EVENT_EMITTED, `emitted ${row.type}`, row.type, row.event_id);
      if (row.published_at) add(row.published_at, TimelineKind.EVENT_PUBLISHED, `published ${row.type}`, row.type, row.event_id);
    }
    for (const row of events.handled) add(row.processed_at, TimelineKind.EVENT_HANDLED, `applied event → ${row.status}`, null, row.event_id);
    return entries.sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}
