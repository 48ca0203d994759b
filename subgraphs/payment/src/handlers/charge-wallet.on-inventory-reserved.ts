import type { EventOf } from "@commerce/schema";
import { assertNever, type EventHandler } from "@commerce/kit";
import { randomUUID } from "node:crypto";
import { createEvent } from "@commerce/streams";
import { lockOrder } from "../payment/cancelled-order.entity";
import { Invoice, allocateInvoiceNumber, type InvoiceLineRow } from "../payment/invoice.entity";
import { Payment } from "../payment/payment.entity";
import type { PaymentSettings } from "../settings";
import { lockWallet } from "../wallet/open-wallet";

/**
 * Charges the order's total to the user's wallet once stock is held: captured
 * (with an invoice) or failed with the reason. Exactly one payment per order,
 * even when the reservation is redelivered in a new envelope; nothing at all
 * when the order was already cancelled.
 */
export const chargeWalletOnInventoryReserved: EventHandler<"inventory.reserved", PaymentSettings> = async (event, { em, emit, logger, settings }) => {
  const { orderId, userId, total } = event.payload;
  await lockOrder(em, orderId);
  const [seen] = await em.execute<{ cancelled: boolean; paid: boolean }[]>(
    `select exists (select 1 from cancelled_orders where order_id = ?) as cancelled, exists (select 1 from payments where order_id = ?) as paid`,
    [orderId, orderId],
  );
  if (seen!.cancelled) {
    logger.info({ orderId }, "reservation of a cancelled order: not charging");
    return;
  }
  if (seen!.paid) {
    logger.info({ orderId }, "order already has a payment: not charging twice");
    return;
  }

  const wallet = await lockWallet(em, userId, settings, `event:${event.id}`);
  const causation = { correlationId: orderId, causation: event };
  const paymentId = randomUUID();
  const outcome = wallet.charge(total, { orderId, paymentId, by: `event:${event.id}` });
  switch (outcome.kind) {
    case "debited": {
      const payment = Payment.captured(paymentId, orderId, userId, total);
      // Allocated last: the counter row stays locked until commit, so keep that window short.
      const invoice = new Invoice(payment, await allocateInvoiceNumber(em), invoiceLines(event.payload.items));
      em.persist([payment, outcome.entry, invoice]);
      emit(createEvent("payment.captured", { orderId, userId, paymentId: payment.id, amount: total, invoiceNumber: invoice.number }, causation));
      return;
    }
    case "refused": {
      const failed = Payment.failed(orderId, userId, total, outcome.reason);
      em.persist(failed);
      emit(createEvent("payment.failed", { orderId, userId, paymentId: failed.id, amount: total, reason: outcome.reason }, causation));
      return;
    }
    default:
      return assertNever(outcome);
  }
};

/** The invoice's lines when the reservation carries every line's price and name (entries from before they did have none). */
function invoiceLines(items: EventOf<"inventory.reserved">["payload"]["items"]): InvoiceLineRow[] {
  const lines: InvoiceLineRow[] = [];
  for (const { productId, quantity, unitPrice, name } of items) {
    if (!unitPrice || name === undefined) return [];
    lines.push({ productId, productName: name, quantity, unitPrice });
  }
  return lines;
}
