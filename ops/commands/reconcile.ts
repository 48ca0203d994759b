/**
 * `npm run reconcile [-- --grace <s>]`: the invariants that span services, read straight from each
 * service's database (ops/README.md, "Reconcile"); `reconcile(urls)` is the same check for drills and tests.
 */
import { Client } from "pg";
import { resolveTargets, type DatabaseUrls } from "./targets";

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

const PAID = new Set(["CONFIRMED", "SHIPPED", "COMPLETED"]);
const FAILED = new Set(["PAYMENT_FAILED", "OUT_OF_STOCK", "CANCELLED"]);
const IN_FLIGHT = new Set(["PENDING", "STOCK_RESERVED"]);

type Row = Record<string, unknown>;

async function query<T extends Row>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // One snapshot per database: counts and rows agree with each other.
    await client.query("begin isolation level repeatable read read only");
    const result = await client.query<T>(sql);
    await client.query("commit");
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
  const [
    orders,
    history,
    payments,
    invoices,
    entries,
    wallets,
    reservations,
    stock,
    notifications,
    orderEvents,
    paymentEvents,
    silenced,
    inflowAudits,
    items,
    returns,
    refunds,
    restocks,
    returnEvents,
  ] = await Promise.all([
    query(urls.order, `select id, user_id, status, total_amount, total_currency, created_at, updated_at from orders`),
    query(urls.order, `select order_id, status, count(*)::int as n from order_status_changes group by order_id, status having count(*) > 1`),
    query(urls.payment, `select id, order_id, user_id, amount_minor, currency, status from payments`),
    query(urls.payment, `select i.payment_id, i.number, i.amount_minor, i.lines from invoices i`),
    query(urls.payment, `select wallet_id, kind, amount, order_id, payment_id from wallet_entries`),
    query(
      urls.payment,
      `select w.user_id, w.balance_amount, coalesce(sum(e.amount), 0) as ledger from wallets w left join wallet_entries e on e.wallet_id = w.user_id group by w.user_id, w.balance_amount`,
    ),
    query(urls.product, `select order_id, status, lines from reservations`),
    query(urls.product, `select product_id, warehouse_id, on_hand, reserved from stock_levels`),
    // A return's notices repeat per return, not per order: their redelivery is caught by the events' count below.
    query(
      urls.notification,
      `select order_id, template, channel, count(*)::int as n from notifications where order_id is not null and template not like 'return\\_%' group by order_id, template, channel`,
    ),
    query(
      urls.order,
      `select correlation_id, type, count(*)::int as n from outbox where type in ('order.confirmed', 'order.cancelled', 'order.placed') group by correlation_id, type`,
    ),
    query(
      urls.payment,
      `select correlation_id, type, count(*)::int as n from outbox where type in ('payment.captured', 'payment.failed', 'payment.refunded') group by correlation_id, type`,
    ),
    // Customers who turned every channel off get no notification at all, by their own choice.
    query(urls.notification, `select user_id from preferences where not email and not in_app and not sms`),
    query(
      urls.payment,
      `select target_id, action, count(*)::int as n from audit_log where action in ('wallet.topped_up', 'wallet.credited') group by target_id, action`,
    ),
    query(urls.order, `select order_id, product_id, quantity from order_items`),
    query(urls.order, `select id, order_id, status, lines, refund_amount, updated_at from return_requests`),
    query(urls.payment, `select return_id, order_id, amount_minor from return_refunds`),
    query(urls.product, `select return_id, order_id, lines from return_restocks`),
    query(
      urls.order,
      `select payload->'payload'->>'returnId' as return_id, type, count(*)::int as n from outbox where type like 'return.%' group by 1, type`,
    ),
  ]);

  const violations: Violation[] = [];
  const flag = (check: string, subject: string, message: string) => violations.push({ check, subject, message });

  const paymentByOrder = new Map(payments.map((p) => [String(p.order_id), p]));
  const invoiceByPayment = group(invoices, (i) => String(i.payment_id));
  const entriesByOrder = group(
    entries.filter((e) => e.order_id !== null),
    (e) => String(e.order_id),
  );
  const reservationByOrder = new Map(reservations.map((r) => [String(r.order_id), r]));
  const notificationsByOrder = group(notifications, (r) => String(r.order_id));
  const silencedUsers = new Set(silenced.map((r) => String(r.user_id)));
  const orderIds = new Set(orders.map((o) => String(o.id)));
  const refundsByOrder = group(refunds, (r) => String(r.order_id));

  for (const order of orders) {
    const id = String(order.id);
    const subject = `order ${id}`;
    const status = String(order.status);
    const age = now - new Date(order.updated_at as string).getTime();
    if (age < graceMs) continue;
    const payment = paymentByOrder.get(id);
    const reservation = reservationByOrder.get(id);
    const ledger = entriesByOrder.get(id) ?? [];
    const captured = ledger.filter((e) => e.kind === "CAPTURE");
    const refunded = ledger.filter((e) => e.kind === "REFUND");
    const total = n(order.total_amount);

    if (PAID.has(status)) {
      if (!payment || payment.status !== "CAPTURED")
        flag("paid-order-payment", subject, `${status} but its payment is ${payment ? payment.status : "missing"}`);
      else if (n(payment.amount_minor) !== total || payment.currency !== order.total_currency) {
        flag(
          "paid-order-payment",
          subject,
          `${status}: captured ${payment.amount_minor} ${payment.currency}, total is ${total} ${order.total_currency}`,
        );
      }
      if (captured.length !== 1 || n(captured[0].amount) !== -total)
        flag(
          "paid-order-ledger",
          subject,
          `${status} but the ledger has ${captured.length} capture(s) (${captured.map((e) => e.amount).join(", ")}) for a total of ${total}`,
        );
      // A paid order is refunded only by its returns, each at most once.
      const returnRefunds = (refundsByOrder.get(id) ?? []).filter((r) => n(r.amount_minor) > 0);
      const refundedTotal = refunded.reduce((sum, e) => sum + n(e.amount), 0);
      if (refunded.length !== returnRefunds.length || refundedTotal !== returnRefunds.reduce((sum, r) => sum + n(r.amount_minor), 0)) {
        flag(
          "paid-order-ledger",
          subject,
          `${status}: the ledger holds ${refunded.length} refund(s) of ${refundedTotal} but its returns refunded ${returnRefunds.length}`,
        );
      }
      if (reservation?.status !== "COMMITTED")
        flag("paid-order-reservation", subject, `${status} but its reservation is ${reservation?.status ?? "missing"}`);
      const confirmedNotes = (notificationsByOrder.get(id) ?? []).filter((r) => r.template === "order_confirmed");
      if (!confirmedNotes.length && !silencedUsers.has(String(order.user_id)))
        flag("paid-order-notification", subject, `${status} but no order_confirmed notification exists`);
    } else if (FAILED.has(status)) {
      if (reservation && (reservation.status === "RESERVED" || reservation.status === "COMMITTED")) {
        flag("failed-order-reservation", subject, `${status} but its reservation is still ${reservation.status}`);
      }
      if (payment?.status === "CAPTURED") flag("failed-order-payment", subject, `${status} but its payment is CAPTURED (not refunded)`);
      if (captured.length > refunded.length)
        flag("failed-order-ledger", subject, `${status} but the ledger has ${captured.length} capture(s) and ${refunded.length} refund(s)`);
    } else if (IN_FLIGHT.has(status) && now - new Date(order.created_at as string).getTime() > stuckAfterMs) {
      flag("stuck-order", subject, `still ${status} ${Math.round((now - new Date(order.created_at as string).getTime()) / 1000)} s after placement`);
    }
  }

  // Money: whatever an order's refunds were (a cancellation, its returns), they never pass its captures.
  for (const [orderId, ledger] of entriesByOrder) {
    const captured = -ledger.filter((e) => e.kind === "CAPTURE").reduce((sum, e) => sum + n(e.amount), 0);
    const refundedTotal = ledger.filter((e) => e.kind === "REFUND").reduce((sum, e) => sum + n(e.amount), 0);
    if (refundedTotal > captured) flag("refund-exceeds-capture", `order ${orderId}`, `refunded ${refundedTotal}, captured ${captured}`);
  }

  // Units, per order and product: restocked ≤ returned (received) ≤ sold, and nothing requested past what was sold.
  const units = new Map<string, { sold: number; requested: number; returned: number; restocked: number }>();
  const tally = (orderId: string, productId: string) => {
    const key = `${orderId} ${productId}`;
    let row = units.get(key);
    if (!row) units.set(key, (row = { sold: 0, requested: 0, returned: 0, restocked: 0 }));
    return row;
  };
  for (const item of items) tally(String(item.order_id), String(item.product_id)).sold += n(item.quantity);
  const restockByReturn = new Map(restocks.map((r) => [String(r.return_id), r]));
  const refundByReturn = new Map(refunds.map((r) => [String(r.return_id), r]));
  for (const request of returns) {
    const orderId = String(request.order_id);
    const status = String(request.status);
    const lines = request.lines as { productId: string; quantity: number }[];
    for (const line of lines) {
      if (status !== "REJECTED") tally(orderId, line.productId).requested += line.quantity;
      if (status === "RECEIVED" || status === "REFUNDED") tally(orderId, line.productId).returned += line.quantity;
    }
    if (now - new Date(request.updated_at as string).getTime() < graceMs) continue;
    const subject = `return ${request.id} (order ${orderId})`;
    if ((status === "RECEIVED" || status === "REFUNDED") && !restockByReturn.has(String(request.id)))
      flag("return-restock", subject, `${status} but nothing was restocked`);
    const refund = refundByReturn.get(String(request.id));
    if (status === "RECEIVED")
      flag("return-refund", subject, `RECEIVED but its refund never landed${refund ? ` (payment refunded ${refund.amount_minor})` : ""}`);
    if (status === "REFUNDED" && (!refund || n(refund.amount_minor) !== n(request.refund_amount))) {
      flag("return-refund", subject, `REFUNDED ${request.refund_amount} but payment refunded ${refund ? refund.amount_minor : "nothing"}`);
    }
  }
  for (const restock of restocks) {
    for (const line of restock.lines as { productId: string; quantity: number }[])
      tally(String(restock.order_id), line.productId).restocked += line.quantity;
  }
  for (const [key, row] of units) {
    if (row.requested > row.sold) flag("return-exceeds-sold", `order ${key}`, `${row.requested} unit(s) on returns, ${row.sold} sold`);
    if (row.restocked > row.returned)
      flag("restock-exceeds-returned", `order ${key}`, `${row.restocked} unit(s) restocked, ${row.returned} returned`);
  }

  for (const payment of payments) {
    const subject = `payment ${payment.id} (order ${payment.order_id})`;
    if (!orderIds.has(String(payment.order_id))) flag("orphan-payment", subject, "no such order in the order service");
    const invoiceRows = invoiceByPayment.get(String(payment.id)) ?? [];
    if (payment.status !== "FAILED" && invoiceRows.length !== 1)
      flag("payment-invoice", subject, `${payment.status} with ${invoiceRows.length} invoice(s)`);
    if (payment.status === "FAILED" && invoiceRows.length) flag("payment-invoice", subject, "FAILED but invoiced");
  }
  for (const reservation of reservations) {
    if (reservation.status === "RESERVED" && !orderIds.has(String(reservation.order_id))) {
      flag("orphan-reservation", `reservation ${reservation.order_id}`, "holds stock for an order the order service does not know");
    }
  }

  for (const wallet of wallets) {
    if (n(wallet.balance_amount) !== n(wallet.ledger)) {
      flag(
        "wallet-balance",
        `wallet ${wallet.user_id}`,
        `balance ${wallet.balance_amount} but opening + top-ups + credits − captures + refunds = ${wallet.ledger}`,
      );
    }
  }

  // Money enters a wallet only by a card top-up or a staff credit, each audited in its transaction: a ledger line without its audit row is money from nowhere.
  const inflows = new Map<string, number>();
  for (const entry of entries) {
    const action = entry.kind === "TOP_UP" ? "wallet.topped_up" : entry.kind === "CREDIT" ? "wallet.credited" : null;
    if (action) inflows.set(`${entry.wallet_id} ${action}`, (inflows.get(`${entry.wallet_id} ${action}`) ?? 0) + 1);
  }
  const audited = new Map(inflowAudits.map((row) => [`${row.target_id} ${row.action}`, n(row.n)]));
  for (const key of new Set([...inflows.keys(), ...audited.keys()])) {
    const [walletId, action] = key.split(" ");
    const [lines, rows] = [inflows.get(key) ?? 0, audited.get(key) ?? 0];
    if (lines !== rows)
      flag(
        "wallet-inflow-audit",
        `wallet ${walletId}`,
        `${lines} ${action === "wallet.credited" ? "CREDIT" : "TOP_UP"} entries but ${rows} ${action} audit rows`,
      );
  }

  // An invoice's lines (when it has them) add up to its amount.
  for (const invoice of invoices) {
    const lines = (invoice.lines ?? []) as { quantity: number; unitPrice: { amount: number } }[];
    const sum = lines.reduce((total, line) => total + line.quantity * line.unitPrice.amount, 0);
    if (lines.length && sum !== n(invoice.amount_minor))
      flag("invoice-lines", `invoice ${invoice.number}`, `lines add up to ${sum}, the invoice is for ${invoice.amount_minor}`);
  }

  // What the RESERVED reservations hold must be exactly what stock_levels.reserved says: a double reservation shows here.
  const held = new Map<string, number>();
  for (const r of reservations) {
    if (r.status !== "RESERVED") continue;
    for (const line of r.lines as { productId: string; warehouseId: string; quantity: number }[]) {
      const key = `${line.productId}@${line.warehouseId}`;
      held.set(key, (held.get(key) ?? 0) + line.quantity);
    }
  }
  for (const level of stock) {
    const key = `${level.product_id}@${level.warehouse_id}`;
    const [onHand, reserved] = [n(level.on_hand), n(level.reserved)];
    if (onHand < 0 || reserved < 0 || reserved > onHand) flag("stock-levels", `stock ${key}`, `onHand ${onHand}, reserved ${reserved}`);
    if (reserved !== (held.get(key) ?? 0))
      flag("stock-reserved", `stock ${key}`, `reserved ${reserved} but RESERVED reservations hold ${held.get(key) ?? 0}`);
  }

  for (const row of history) flag("duplicate-transition", `order ${row.order_id}`, `became ${row.status} ${row.n} times`);
  for (const row of notifications)
    if (n(row.n) > 1) flag("duplicate-notification", `order ${row.order_id}`, `${row.n} ${row.channel} ${row.template} notifications`);
  for (const row of [...orderEvents, ...paymentEvents])
    if (n(row.n) > 1) flag("duplicate-event", `order ${row.correlation_id}`, `${row.n} ${row.type} events`);
  for (const row of returnEvents) if (n(row.n) > 1) flag("duplicate-event", `return ${row.return_id}`, `${row.n} ${row.type} events`);
  return violations;
}

async function main(argv: string[]): Promise<number> {
  const graceIndex = argv.indexOf("--grace");
  const graceMs = graceIndex >= 0 ? Number(argv[graceIndex + 1]) * 1000 : undefined;
  const { databases, describe } = resolveTargets();
  console.log(`reconciling ${describe}`);
  const violations = await reconcile(databases, { graceMs });
  for (const v of violations) console.log(`VIOLATION ${v.check.padEnd(24)} ${v.subject}: ${v.message}`);
  console.log(violations.length ? `${violations.length} violation(s)` : "all invariants hold");
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
