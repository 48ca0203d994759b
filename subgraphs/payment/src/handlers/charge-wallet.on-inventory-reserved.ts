import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventOf } from "@commerce/schema";
import { assertNever, type EventHandler } from "@commerce/kit";
import { randomUUID } from "node:crypto";
import { createEvent } from "@commerce/streams";
import { lockOrder } from "../payment/cancelled-order.entity";
import { NEXT_INVOICE_NUMBER, type InvoiceLineRow } from "../payment/invoice.entity";
import { Payment } from "../payment/payment.entity";
import type { PaymentSettings } from "../settings";
import { lockWallet } from "../wallet/open-wallet";
import { Wallet } from "../wallet/wallet.entity";
import type { WalletEntry } from "../wallet/wallet-entry.entity";

/**
 * Charges the order's total to the user's wallet once stock is held: captured
 * (with an invoice) or failed with the reason. Exactly one payment per order,
 * even when the reservation is redelivered in a new envelope; nothing at all
 * when the order was already cancelled.
 */
export const chargeWalletOnInventoryReserved: EventHandler<"inventory.reserved", PaymentSettings> = async (event, { em, emit, logger, settings }) => {
  const { orderId, userId, total } = event.payload;
  await lockOrder(em, orderId);
  const seen = await readForCharge(em, orderId, userId);
  if (seen.cancelled) {
    logger.info({ orderId }, "reservation of a cancelled order: not charging");
    return;
  }
  if (seen.paid) {
    logger.info({ orderId }, "order already has a payment: not charging twice");
    return;
  }

  const wallet = seen.wallet ?? (await lockWallet(em, userId, settings, `event:${event.id}`));
  const causation = { correlationId: orderId, causation: event };
  const paymentId = randomUUID();
  const outcome = wallet.charge(total, { orderId, paymentId, by: `event:${event.id}` });
  switch (outcome.kind) {
    case "debited": {
      const payment = Payment.captured(paymentId, orderId, userId, total);
      const invoiceNumber = await writeCapture(em, wallet, outcome.entry, payment, invoiceLines(event.payload.items));
      emit(createEvent("payment.captured", { orderId, userId, paymentId: payment.id, amount: total, invoiceNumber }, causation));
      return;
    }
    case "refused": {
      const failed = Payment.failed(orderId, userId, total, outcome.reason);
      await insertPayments(em, [failed]);
      emit(createEvent("payment.failed", { orderId, userId, paymentId: failed.id, amount: total, reason: outcome.reason }, causation));
      return;
    }
    default:
      return assertNever(outcome);
  }
};

/**
 * After the order's lock, in one statement: whether it was cancelled or already paid, and the payer's
 * wallet locked (null when it does not exist yet).
 */
async function readForCharge(
  em: EntityManager,
  orderId: string,
  userId: string,
): Promise<{ cancelled: boolean; paid: boolean; wallet: Wallet | null }> {
  const [row] = await em.execute<{ cancelled: boolean; paid: boolean; wallet: Record<string, unknown> | null }[]>(
    `select exists (select 1 from cancelled_orders where order_id = ?) as cancelled, exists (select 1 from payments where order_id = ?) as paid,
       (select json_build_object('userId', user_id, 'balanceAmount', balance_amount, 'currency', currency, 'openedAt', opened_at, 'updatedAt', updated_at)
          from (select * from wallets where user_id = ? for update) w) as wallet`,
    [orderId, orderId, userId],
  );
  const { cancelled, paid, wallet } = row!;
  if (!wallet) return { cancelled, paid, wallet: null };
  const { balanceAmount, openedAt, updatedAt, ...rest } = wallet as { balanceAmount: number; openedAt: string; updatedAt: string };
  return {
    cancelled,
    paid,
    wallet: Object.assign(Object.create(Wallet.prototype) as Wallet, rest, {
      balanceAmount: Number(balanceAmount),
      openedAt: new Date(openedAt),
      updatedAt: new Date(updatedAt),
    }),
  };
}

/**
 * A capture in one statement: the wallet's new balance, its ledger entry, the payment, and the invoice
 * with the next number (the counter row stays locked until commit). Returns the invoice number.
 */
async function writeCapture(em: EntityManager, wallet: Wallet, entry: WalletEntry, payment: Payment, lines: InvoiceLineRow[]): Promise<string> {
  const [row] = await em.execute<{ number: string }[]>(
    `with w as (update wallets set balance_amount = ?, updated_at = now() where user_id = ? returning 1),
     e as (${INSERT_WALLET_ENTRY}),
     p as (${INSERT_PAYMENTS}),
     c as (${NEXT_INVOICE_NUMBER}),
     i as (insert into invoices (id, payment_id, number, amount_minor, currency, issued_at, lines)
           select ?, ?, c.number, ?, ?, now(), ?::jsonb from c returning number)
     select number from i, w`,
    [
      wallet.balanceAmount,
      wallet.userId,
      ...walletEntryParams(entry),
      paymentsParam([payment]),
      randomUUID(),
      payment.id,
      payment.amountMinor,
      payment.currency,
      JSON.stringify(lines),
    ],
  );
  return row!.number;
}

/** Inserts payments (one `?`: {@link paymentsParam}). */
const INSERT_PAYMENTS = `insert into payments (id, order_id, user_id, amount_minor, currency, status, failure_reason, created_at, refunded_at)
  select id, order_id, user_id, amount_minor, currency, status, failure_reason, created_at, refunded_at
  from jsonb_to_recordset(?::jsonb) as r(id uuid, order_id text, user_id text, amount_minor int, currency text, status text, failure_reason text,
                                         created_at timestamptz, refunded_at timestamptz)`;

function paymentsParam(payments: Payment[]): string {
  return JSON.stringify(
    payments.map((p) => ({
      id: p.id,
      order_id: p.orderId,
      user_id: p.userId,
      amount_minor: p.amountMinor,
      currency: p.currency,
      status: p.status,
      failure_reason: p.failureReason,
      created_at: p.createdAt.toISOString(),
      refunded_at: p.refundedAt?.toISOString() ?? null,
    })),
  );
}

async function insertPayments(em: EntityManager, payments: Payment[]): Promise<void> {
  await em.execute(INSERT_PAYMENTS, [paymentsParam(payments)]);
}

const INSERT_WALLET_ENTRY = `insert into wallet_entries (id, wallet_id, kind, amount, currency, order_id, payment_id, return_id, created_at, created_by, reason,
    idempotency_key, request_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function walletEntryParams(entry: WalletEntry): unknown[] {
  return [
    entry.id,
    entry.walletId,
    entry.kind,
    entry.amount,
    entry.currency,
    entry.orderId,
    entry.paymentId,
    entry.returnId,
    entry.createdAt,
    entry.createdBy,
    entry.reason,
    entry.idempotencyKey,
    entry.requestHash,
  ];
}

/** The invoice's lines when the reservation carries every line's price and name (entries from before they did have none). */
function invoiceLines(items: EventOf<"inventory.reserved">["payload"]["items"]): InvoiceLineRow[] {
  const lines: InvoiceLineRow[] = [];
  for (const { productId, quantity, unitPrice, name } of items) {
    if (!unitPrice || name === undefined) return [];
    lines.push({ productId, productName: name, quantity, unitPrice });
  }
  return lines;
}
