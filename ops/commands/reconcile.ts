/**
 * `npm run reconcile`: checks the invariants that span services, over all their data, and prints each
 * violation; exits 1 when there is any. Each service's database is read directly (read-only queries),
 * because no single service can see the whole saga. Table names come from the subgraphs' migrations.
 *
 *   npm run reconcile                    the databases of `npm start` (.data/), or DATABASE_URL_<SERVICE>
 *   npm run reconcile -- --grace 60      skip orders changed in the last 60 s (default 30)
 *
 * `reconcile(urls)` is the same check as a function, for the drills and tests.
 */
import { Client } from 'pg';
import { resolveTargets, type DatabaseUrls } from './targets';

export type { DatabaseUrls };

/** One broken invariant. `check` is stable (tests and drills group by it); `duplicate-*` checks are duplicated effects. */
export interface Violation {
  check: string;
  /** what it is about, e.g. `order 5f…`, `wallet u-1`, `stock p-1@w-1` */
  subject: string;
  message: string;
}

export interface ReconcileOptions {
  /** Orders changed more recently than this are in flight and skipped (default 30 s). */
  graceMs?: number;
  /** An order still PENDING/STOCK_RESERVED this long after placement is reported stuck (default 10 min). */
  stuckAfterMs?: number;
  now?: Date;
}

const PAID = new Set(['CONFIRMED', 'SHIPPED', 'COMPLETED']);
const FAILED = new Set(['PAYMENT_FAILED', 'OUT_OF_STOCK', 'CANCELLED']);
const IN_FLIGHT = new Set(['PENDING', 'STOCK_RESERVED']);

type Row = Record<string, unknown>;

async function query<T extends Row>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // One snapshot per database: counts and rows agree with each other.
    await client.query('begin isolation level repeatable read read only');
    const result = await client.query<T>(sql);
    await client.query('commit');
    return result.rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const n = (value: unknown) => Number(value);
const group = <T>(rows: T[], key: (row: T) => string): Map<string, T[]> => {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
};

/**
 * Reads the order, payment, product and notification databases and returns every violated invariant
 * (empty when all hold). Orders changed within `graceMs` are skipped: their saga may still be running.
 */
export async function reconcile(urls: DatabaseUrls, options: ReconcileOptions = {}): Promise<Violation[]> {
  const now = (options.now ?? new Date()).getTime();
  const graceMs = options.graceMs ?? 30_000;
  const stuckAfterMs = options.stuckAfterMs ?? 10 * 60_000;
  const [orders, history, payments, invoices, entries, wallets, reservations, stock, notifications, orderEvents, paymentEvents, silenced] =
    await Promise.all([
      query(urls.order, `select id, user_id, status, total_amount, total_currency, created_at, updated_at from orders`),
      query(urls.order, `select order_id, status, count(*)::int as n from order_status_changes group by order_id, status having count(*) > 1`),
      query(urls.payment, `select id, order_id, user_id, amount_minor, currency, status from payments`),
      query(urls.payment, `select i.payment_id, i.number, i.amount_minor from invoices i`),
      query(urls.payment, `select wallet_id, kind, amount, order_id, payment_id from wallet_entries`),
      query(urls.payment, `select w.user_id, w.balance_amount, coalesce(sum(e.amount), 0) as ledger from wallets w left join wallet_entries e on e.wallet_id = w.user_id group by w.user_id, w.balance_amount`),
      query(urls.product, `select order_id, status, lines from reservations`),
      query(urls.product, `select product_id, warehouse_id, on_hand, reserved from stock_levels`),
      query(urls.notification, `select order_id, template, channel, count(*)::int as n from notifications where order_id is not null group by order_id, template, channel`),
      query(urls.order, `select correlation_id, type, count(*)::int as n from outbox where type in ('order.confirmed', 'order.cancelled', 'order.placed') group by correlation_id, type`),
      query(urls.payment, `select correlation_id, type, count(*)::int as n from outbox where type in ('payment.captured', 'payment.failed', 'payment.refunded') group by correlation_id, type`),
      // Customers who turned every channel off get no notification at all, by their own choice.
      query(urls.notification, `select user_id from preferences where not email and not in_app and not sms`),
    ]);

  const violations: Violation[] = [];
  const flag = (check: string, subject: string, message: string) => violations.push({ check, subject, message });

  const paymentByOrder = new Map(payments.map((p) => [String(p.order_id), p]));
  const invoiceByPayment = group(invoices, (i) => String(i.payment_id));
  const entriesByOrder = group(entries.filter((e) => e.order_id !== null), (e) => String(e.order_id));
  const reservationByOrder = new Map(reservations.map((r) => [String(r.order_id), r]));
  const notificationsByOrder = group(notifications, (r) => String(r.order_id));
  const silencedUsers = new Set(silenced.map((r) => String(r.user_id)));
  const orderIds = new Set(orders.map((o) => String(o.id)));

  for (const order of orders) {
    const id = String(order.id);
    const subject = `order ${id}`;
    const status = String(order.status);
    const age = now - new Date(order.updated_at as string).getTime();
    if (age < graceMs) continue;
    const payment = paymentByOrder.get(id);
    const reservation = reservationByOrder.get(id);
    const ledger = entriesByOrder.get(id) ?? [];
    const captured = ledger.filter((e) => e.kind === 'CAPTURE');
    const refunded = ledger.filter((e) => e.kind === 'REFUND');
    const total = n(order.total_amount);

    if (PAID.has(status)) {
      if (!payment || payment.status !== 'CAPTURED') flag('paid-order-payment', subject, `${status} but its payment is ${payment ? payment.status : 'missing'}`);
      else if (n(payment.amount_minor) !== total || payment.currency !== order.total_currency) {
        flag('paid-order-payment', subject, `${status}: captured ${payment.amount_minor} ${payment.currency}, total is ${total} ${order.total_currency}`);
      }
      if (captured.length !== 1 || n(captured[0].amount) !== -total) flag('paid-order-ledger', subject, `${status} but the ledger has ${captured.length} capture(s) (${captured.map((e) => e.amount).join(', ')}) for a total of ${total}`);
      if (refunded.length) flag('paid-order-ledger', subject, `${status} but the ledger holds a refund`);
      if (reservation?.status !== 'COMMITTED') flag('paid-order-reservation', subject, `${status} but its reservation is ${reservation?.status ?? 'missing'}`);
      const confirmedNotes = (notificationsByOrder.get(id) ?? []).filter((r) => r.template === 'order_confirmed');
      if (!confirmedNotes.length && !silencedUsers.has(String(order.user_id))) flag('paid-order-notification', subject, `${status} but no order_confirmed notification exists`);
    } else if (FAILED.has(status)) {
      if (reservation && (reservation.status === 'RESERVED' || reservation.status === 'COMMITTED')) {
        flag('failed-order-reservation', subject, `${status} but its reservation is still ${reservation.status}`);
      }
      if (payment?.status === 'CAPTURED') flag('failed-order-payment', subject, `${status} but its payment is CAPTURED (not refunded)`);
      if (captured.length > refunded.length) flag('failed-order-ledger', subject, `${status} but the ledger has ${captured.length} capture(s) and ${refunded.length} refund(s)`);
    } else if (IN_FLIGHT.has(status) && now - new Date(order.created_at as string).getTime() > stuckAfterMs) {
      flag('stuck-order', subject, `still ${status} ${Math.round((now - new Date(order.created_at as string).getTime()) / 1000)} s after placement`);
    }
  }

  for (const payment of payments) {
    const subject = `payment ${payment.id} (order ${payment.order_id})`;
    if (!orderIds.has(String(payment.order_id))) flag('orphan-payment', subject, 'no such order in the order service');
    const invoiceRows = invoiceByPayment.get(String(payment.id)) ?? [];
    if (payment.status !== 'FAILED' && invoiceRows.length !== 1) flag('payment-invoice', subject, `${payment.status} with ${invoiceRows.length} invoice(s)`);
    if (payment.status === 'FAILED' && invoiceRows.length) flag('payment-invoice', subject, 'FAILED but invoiced');
  }
  for (const reservation of reservations) {
    if (reservation.status === 'RESERVED' && !orderIds.has(String(reservation.order_id))) {
      flag('orphan-reservation', `reservation ${reservation.order_id}`, 'holds stock for an order the order service does not know');
    }
  }

  for (const wallet of wallets) {
    if (n(wallet.balance_amount) !== n(wallet.ledger)) {
      flag('wallet-balance', `wallet ${wallet.user_id}`, `balance ${wallet.balance_amount} but opening + top-ups − captures + refunds = ${wallet.ledger}`);
    }
  }

  // What the RESERVED reservations hold must be exactly what stock_levels.reserved says: a double reservation shows here.
  const held = new Map<string, number>();
  for (const r of reservations) {
    if (r.status !== 'RESERVED') continue;
    for (const line of r.lines as { productId: string; warehouseId: string; quantity: number }[]) {
      const key = `${line.productId}@${line.warehouseId}`;
      held.set(key, (held.get(key) ?? 0) + line.quantity);
    }
  }
  for (const level of stock) {
    const key = `${level.product_id}@${level.warehouse_id}`;
    const [onHand, reserved] = [n(level.on_hand), n(level.reserved)];
    if (onHand < 0 || reserved < 0 || reserved > onHand) flag('stock-levels', `stock ${key}`, `onHand ${onHand}, reserved ${reserved}`);
    if (reserved !== (held.get(key) ?? 0)) flag('stock-reserved', `stock ${key}`, `reserved ${reserved} but RESERVED reservations hold ${held.get(key) ?? 0}`);
  }

  for (const row of history) flag('duplicate-transition', `order ${row.order_id}`, `became ${row.status} ${row.n} times`);
  for (const row of notifications) if (n(row.n) > 1) flag('duplicate-notification', `order ${row.order_id}`, `${row.n} ${row.channel} ${row.template} notifications`);
  for (const row of [...orderEvents, ...paymentEvents]) if (n(row.n) > 1) flag('duplicate-event', `order ${row.correlation_id}`, `${row.n} ${row.type} events`);
  return violations;
}

async function main(argv: string[]): Promise<number> {
  const graceIndex = argv.indexOf('--grace');
  const graceMs = graceIndex >= 0 ? Number(argv[graceIndex + 1]) * 1000 : undefined;
  const { databases, describe } = resolveTargets();
  console.log(`reconciling ${describe}`);
  const violations = await reconcile(databases, { graceMs });
  for (const v of violations) console.log(`VIOLATION ${v.check.padEnd(24)} ${v.subject}: ${v.message}`);
  console.log(violations.length ? `${violations.length} violation(s)` : 'all invariants hold');
  return violations.length ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`reconcile failed: ${(error as Error).message}`);
      process.exit(2);
    },
  );
}
