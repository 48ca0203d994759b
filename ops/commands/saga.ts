/**
 * `npm run saga -- <orderId>`: one order's story across the five services, in time order. Read from
 * each service's own database (outbox rows carry the order id as correlation id; `processed_event`
 * rows say which group applied which of those events when) and from Redis (dead letters, and entries
 * still pending, i.e. being retried or waiting for a crashed consumer's claim). A retry that finally
 * succeeded leaves no trace but its later `handled` time: Redis forgets delivery counts on ack.
 *
 * Where: DATABASE_URL_<SERVICE> / REDIS_URL / STREAM_PREFIX, else what `npm start` left in `.data/`.
 */
import { Client } from "pg";
import { createRedis, dlqKey, PUBLISHED_AT_SQL, streamKey } from "@commerce/streams";
import { SERVICES, type ServiceName } from "../provision/platform";
import { resolveTargets, type Targets } from "./targets";

/** One step of an order's saga. */
export interface StoryEntry {
  at: Date;
  /** the service whose data says so (`redis` for dead letters and pending entries) */
  service: ServiceName | "redis";
  kind:
    | "status"
    | "emitted"
    | "handled"
    | "payment"
    | "invoice"
    | "ledger"
    | "reservation"
    | "return"
    | "notification"
    | "delivery"
    | "dead-letter"
    | "pending";
  text: string;
}

export interface OrderStory {
  orderId: string;
  /** null when the order service does not know the order */
  order: { status: string; total: string; userId: string; user: string | null; createdAt: Date } | null;
  entries: StoryEntry[];
  /** what could not be read (e.g. Redis down): the story is partial */
  notes: string[];
}

const PRODUCERS = ["user", "product", "order", "payment"] as const;
const short = (id: unknown) => String(id).slice(0, 8);
const money = (amount: unknown, currency: unknown) => `${(Number(amount) / 100).toFixed(2)} ${currency}`;

async function withDb<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Everything the databases and Redis know about `orderId`, sorted by time. */
export async function orderStory(targets: Pick<Targets, "databases" | "redisUrl" | "streamPrefix">, orderId: string): Promise<OrderStory> {
  const db = targets.databases;
  const entries: StoryEntry[] = [];
  const notes: string[] = [];
  const add = (at: unknown, service: StoryEntry["service"], kind: StoryEntry["kind"], text: string) => {
    if (at) entries.push({ at: new Date(at as string), service, kind, text });
  };
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(orderId);

  const orderRow = isUuid ? await withDb(db.order, async (c) => (await c.query(`select * from orders where id = $1`, [orderId])).rows[0]) : undefined;
  const user = orderRow
    ? await withDb(db.user, async (c) => (await c.query(`select email, role from users where id::text = $1`, [orderRow.user_id])).rows[0])
    : undefined;

  // The events of the saga, from every producer's outbox; their ids find the processed marks everywhere.
  const eventTypes = new Map<string, string>();
  await Promise.all(
    SERVICES.map((svc) =>
      withDb(db[svc], async (c) => {
        const { rows } = await c.query(
          `select o.event_id, o.type, o.created_at, ${PUBLISHED_AT_SQL} as published_at, o.payload->>'causationId' as causation
           from outbox o where o.correlation_id = $1 order by o.id`,
          [orderId],
        );
        for (const r of rows) {
          eventTypes.set(r.event_id, r.type);
          const published = r.published_at
            ? `published +${new Date(r.published_at).getTime() - new Date(r.created_at).getTime()} ms`
            : "NOT PUBLISHED yet";
          add(
            r.created_at,
            svc,
            "emitted",
            `${r.type} [${short(r.event_id)}]${r.causation ? ` caused by [${short(r.causation)}]` : ""}, ${published}`,
          );
        }
      }),
    ),
  );
  const eventIds = [...eventTypes.keys()];
  await Promise.all(
    SERVICES.map((svc) =>
      withDb(db[svc], async (c) => {
        const { rows } = await c.query(`select event_id, consumer_group, processed_at from processed_event where event_id = any($1::uuid[])`, [
          eventIds,
        ]);
        for (const r of rows)
          add(r.processed_at, svc, "handled", `${eventTypes.get(r.event_id)} [${short(r.event_id)}] by group ${r.consumer_group}`);
      }),
    ),
  );

  if (orderRow) {
    await withDb(db.order, async (c) => {
      const { rows } = await c.query(`select * from order_status_changes where order_id = $1 order by id`, [orderId]);
      for (const r of rows) {
        const why = [r.reason, r.actor && `by ${r.actor}`, r.cause_event_id && `on [${short(r.cause_event_id)}]`].filter(Boolean).join(", ");
        add(r.at, "order", "status", `${r.previous_status ?? "∅"} → ${r.status}${why ? ` (${why})` : ""}`);
      }
      const { rows: returns } = await c.query(
        `select c.*, r.lines from return_status_changes c join return_requests r on r.id = c.return_id where r.order_id = $1 order by c.id`,
        [orderId],
      );
      for (const r of returns) {
        const lines = (r.lines as { productId: string; quantity: number }[]).map((l) => `${l.quantity}× ${short(l.productId)}`).join(", ");
        const why = [r.reason, r.actor && `by ${r.actor}`, r.cause_event_id && `on [${short(r.cause_event_id)}]`].filter(Boolean).join(", ");
        add(r.at, "order", "return", `return ${short(r.return_id)} (${lines}) ${r.previous_status ?? "∅"} → ${r.status}${why ? ` (${why})` : ""}`);
      }
    });
  }
  await withDb(db.product, async (c) => {
    const { rows } = await c.query(`select * from return_restocks where order_id = $1`, [orderId]);
    for (const r of rows) {
      const lines = (r.lines as { productId: string; quantity: number }[]).map((l) => `${l.quantity}× ${short(l.productId)}`).join(", ");
      add(r.created_at, "product", "return", `return ${short(r.return_id)} restocked into ${short(r.warehouse_id)}: ${lines}`);
    }
  });
  await withDb(db.payment, async (c) => {
    const payments = (await c.query(`select * from payments where order_id = $1`, [orderId])).rows;
    for (const p of payments) {
      add(p.created_at, "payment", "payment", `${p.status} ${money(p.amount_minor, p.currency)}${p.failure_reason ? `: ${p.failure_reason}` : ""}`);
      if (p.refunded_at) add(p.refunded_at, "payment", "payment", `REFUNDED ${money(p.amount_minor, p.currency)}`);
      const invoices = (await c.query(`select * from invoices where payment_id = $1`, [p.id])).rows;
      for (const i of invoices) add(i.issued_at, "payment", "invoice", `${i.number} ${money(i.amount_minor, i.currency)}`);
    }
    const refunds = (await c.query(`select * from return_refunds where order_id = $1`, [orderId])).rows;
    for (const r of refunds) add(r.created_at, "payment", "return", `return ${short(r.return_id)} refunded ${money(r.amount_minor, r.currency)}`);
    const ledger = (await c.query(`select * from wallet_entries where order_id = $1 order by created_at`, [orderId])).rows;
    for (const e of ledger) add(e.created_at, "payment", "ledger", `${e.kind} ${money(e.amount, e.currency)} on wallet ${short(e.wallet_id)}`);
  });
  await withDb(db.product, async (c) => {
    const r = (await c.query(`select * from reservations where order_id = $1`, [orderId])).rows[0];
    if (!r) return;
    const lines = (r.lines as { productId: string; warehouseId: string; quantity: number }[]).map(
      (l) => `${l.quantity}× ${short(l.productId)}@${short(l.warehouseId)}`,
    );
    add(r.created_at, "product", "reservation", `created${lines.length ? `: ${lines.join(", ")}` : ""}`);
    add(r.updated_at, "product", "reservation", `now ${r.status}${r.reason ? ` (${r.reason})` : ""}`);
  });
  await withDb(db.notification, async (c) => {
    const rows = (
      await c.query(
        `select n.id, n.channel, n.template, n.status, n.created_at, n.sent_at, a.at, a.ok, a.error
         from notifications n left join delivery_attempts a on a.notification_id = n.id where n.order_id = $1 order by n.created_at, a.at`,
        [orderId],
      )
    ).rows;
    const seen = new Set<string>();
    for (const r of rows) {
      if (!seen.has(r.id)) {
        seen.add(r.id);
        add(r.created_at, "notification", "notification", `${r.template} ${r.channel} queued (now ${r.status})`);
      }
      if (r.at) add(r.at, "notification", "delivery", `${r.template} ${r.channel} ${r.ok ? "delivered" : `failed: ${r.error}`}`);
    }
  });

  try {
    await redisSteps(targets, orderId, add);
  } catch (error) {
    notes.push(`Redis (${targets.redisUrl}) could not be read: ${(error as Error).message}; dead letters and pending retries are not shown`);
  }

  entries.sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    orderId,
    order: orderRow
      ? {
          status: orderRow.status,
          total: money(orderRow.total_amount, orderRow.total_currency),
          userId: orderRow.user_id,
          user: user ? `${user.email} (${user.role})` : null,
          createdAt: new Date(orderRow.created_at),
        }
      : null,
    entries,
    notes,
  };
}

type Add = (at: unknown, service: StoryEntry["service"], kind: StoryEntry["kind"], text: string) => void;

const correlationOf = (fields: string[]): string | null => {
  const envelope = fields[fields.indexOf("envelope") + 1];
  try {
    return (JSON.parse(envelope) as { correlationId?: string }).correlationId ?? null;
  } catch {
    return null;
  }
};

/** Dead letters of the order's events, and its entries still pending in some group (being retried, or orphaned by a crash). */
async function redisSteps(targets: Pick<Targets, "redisUrl" | "streamPrefix">, orderId: string, add: Add): Promise<void> {
  const redis = createRedis(targets.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  redis.on("error", () => undefined); // surfaced by the failing command
  await redis.connect();
  try {
    for (const svc of SERVICES) {
      const letters = (await redis.xrange(dlqKey(targets.streamPrefix, svc), "-", "+")) as [string, string[]][];
      for (const [, fields] of letters) {
        if (correlationOf(fields) !== orderId) continue;
        const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]])));
        add(f.failedAt, "redis", "dead-letter", `${f.type} dead-lettered for ${svc} after ${f.attempts} attempt(s): ${f.error}`);
      }
    }
    const now = Date.now();
    for (const producer of PRODUCERS) {
      const key = streamKey(targets.streamPrefix, producer);
      if (!(await redis.exists(key))) continue;
      const groups = (await redis.xinfo("GROUPS", key)) as unknown[][];
      for (const g of groups) {
        const group = String(g[g.indexOf("name") + 1]);
        const pending = (await redis.xpending(key, group, "-", "+", 1000)) as [string, string, number, number][];
        for (const [entryId, consumer, idleMs, deliveries] of pending) {
          const [entry] = (await redis.xrange(key, entryId, entryId)) as [string, string[]][];
          if (!entry || correlationOf(entry[1]) !== orderId) continue;
          const type = entry[1][entry[1].indexOf("type") + 1];
          add(
            new Date(now - idleMs),
            "redis",
            "pending",
            `${type} pending at ${group} (consumer ${consumer}), delivered ${deliveries} time(s), idle ${idleMs} ms`,
          );
        }
      }
    }
  } finally {
    redis.disconnect();
  }
}

/** The story as text, times relative to the first step. */
export function formatStory(story: OrderStory): string {
  const lines: string[] = [];
  const o = story.order;
  lines.push(
    o ? `order ${story.orderId}: ${o.status}, total ${o.total}, user ${o.user ?? o.userId}` : `order ${story.orderId}: unknown to the order service`,
  );
  const start = story.entries[0]?.at.getTime() ?? 0;
  for (const e of story.entries) {
    const offset = `+${((e.at.getTime() - start) / 1000).toFixed(3)}s`.padStart(10);
    lines.push(`${e.at.toISOString()} ${offset}  ${e.service.padEnd(12)} ${e.kind.padEnd(12)} ${e.text}`);
  }
  if (!story.entries.length) lines.push("  (no steps recorded anywhere)");
  for (const note of story.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const orderId = argv[0];
  if (!orderId) {
    console.error("usage: npm run saga -- <orderId>");
    return 2;
  }
  const targets = resolveTargets();
  const story = await orderStory(targets, orderId);
  console.log(formatStory(story));
  return story.order || story.entries.length ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`saga failed: ${(error as Error).message}`);
      process.exit(2);
    },
  );
}
