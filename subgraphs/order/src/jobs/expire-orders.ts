import type { EntityManager } from "@mikro-orm/postgresql";
import { audit, type Job, type Runtime } from "@commerce/kit";
import { Order } from "../order/order.entity";
import { transition } from "../order/order.transitions";
import type { OrderSettings } from "../settings";

/** Shown to the customer (statusHistory, the cancellation message): what happened, in their words. */
export const EXPIRY_REASON = "it expired before it could be completed";
const BATCH = 100;

/**
 * Expires one batch of orders whose saga outlived the deadline, as
 * cancellations (`expired: true`), so the usual compensations run. `SKIP
 * LOCKED` lets several replicas sweep at once without taking the same order,
 * and skips an order a handler or person is changing right now (the next
 * sweep sees it again if it is still open). Returns how many were expired.
 */
export async function expireStaleOrders(runtime: Runtime<OrderSettings>, em: EntityManager, now = new Date()): Promise<number> {
  const deadline = new Date(now.getTime() - runtime.settings.sagaDeadlineMs);
  return runtime.commit(em, async (tx, emit) => {
    // tx.execute, not the connection: the row locks must belong to this transaction.
    const rows = await tx.execute<Record<string, unknown>[]>(
      `select * from orders
       where status in ('PENDING', 'STOCK_RESERVED') and created_at < ?
       order by created_at limit ${BATCH}
       for update skip locked`,
      [deadline],
    );
    const orders = rows.map((row) => tx.map(Order, row));
    const expired = orders.filter((order) => {
      const previousStatus = order.status;
      if (!transition(tx, emit, order, { type: "cancel", reason: EXPIRY_REASON, expired: true }, { actor: "system:saga-deadline", at: now }))
        return false;
      audit(
        tx,
        { job: "saga-deadline", correlationId: order.id },
        {
          action: "order.cancelled",
          targetType: "Order",
          targetId: order.id,
          details: { reason: EXPIRY_REASON, previousStatus, ownerId: order.userId, expired: true },
        },
      );
      return true;
    });
    if (expired.length) runtime.logger.info({ orderIds: expired.map((o) => o.id) }, "expired orders past the saga deadline");
    return expired.length;
  });
}

/** Runs {@link expireStaleOrders} every `expirySweepMs`, never two sweeps at once in one process. */
export function expiryJob(runtime: Runtime<OrderSettings>): Job {
  let running: Promise<void> | null = null;
  const sweep = async () => {
    try {
      // A full batch means more may be waiting: keep going until a short one.
      while ((await expireStaleOrders(runtime, runtime.orm.em.fork() as EntityManager)) === BATCH);
    } catch (error) {
      runtime.logger.error({ err: error }, "saga expiry sweep failed; retrying at the next tick");
    }
  };
  const timer = setInterval(() => {
    running ??= sweep().finally(() => (running = null));
  }, runtime.settings.expirySweepMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
