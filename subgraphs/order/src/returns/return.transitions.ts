import { ref } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Money } from "@commerce/kit";
import { createEvent } from "@commerce/streams";
import type { EventEnvelope } from "@commerce/schema";
import type { Cause } from "../order/order.transitions";
import { ReturnStatusChange, type ReturnRequest, type ReturnStatus } from "./return-request.entity";

type Emit = (event: EventEnvelope) => void;

/** What can happen to a return: STAFF decide and receive, payment's refund settles it. */
export type ReturnTrigger =
  { type: "approve" } | { type: "reject"; reason: string } | { type: "receive"; warehouseId: string } | { type: "refund"; amount: Money };

/** The status `trigger` moves a return in `from` to, or null when it does not apply (a CONFLICT, or a late event ignored). */
export function nextReturnStatus(from: ReturnStatus, trigger: ReturnTrigger): ReturnStatus | null {
  switch (trigger.type) {
    case "approve":
      return from === "REQUESTED" ? "APPROVED" : null;
    case "reject":
      return from === "REQUESTED" ? "REJECTED" : null;
    case "receive":
      return from === "APPROVED" ? "RECEIVED" : null;
    case "refund":
      return from === "RECEIVED" ? "REFUNDED" : null;
    default: {
      const unhandled: never = trigger;
      throw new Error(`unhandled return trigger ${JSON.stringify(unhandled)}`);
    }
  }
}

const lineOf = (line: ReturnRequest["storedLines"][number]) => ({
  productId: line.productId,
  quantity: line.quantity,
  unitPrice: { amount: line.unitPriceAmount, currency: line.unitPriceCurrency },
});

function record(
  tx: EntityManager,
  request: ReturnRequest,
  status: ReturnStatus,
  previousStatus: ReturnStatus | null,
  reason: string | null,
  cause: Cause,
  at: Date,
) {
  tx.persist(
    new ReturnStatusChange({
      returnRequest: ref(request),
      status,
      previousStatus,
      at,
      reason,
      causeEventId: cause.event?.id ?? null,
      actor: cause.actor ?? null,
    }),
  );
}

/** Records a new REQUESTED return, its first history entry and `return.requested`, in the caller's transaction. */
export function recordReturnRequest(tx: EntityManager, emit: Emit, request: ReturnRequest, cause: Cause): void {
  tx.persist(request);
  record(tx, request, "REQUESTED", null, request.reason, cause, request.createdAt);
  const base = { returnId: request.id, orderId: request.orderId, userId: request.userId };
  emit(
    createEvent("return.requested", { ...base, lines: request.storedLines.map(lineOf), reason: request.reason }, { correlationId: request.orderId }),
  );
}

/**
 * Moves `request` by `trigger` if allowed, appending its history entry and emitting the step's event.
 * Returns false (and changes nothing) when the trigger does not apply to the current status.
 */
export function transitionReturn(tx: EntityManager, emit: Emit, request: ReturnRequest, trigger: ReturnTrigger, cause: Cause): boolean {
  const next = nextReturnStatus(request.status, trigger);
  if (!next) return false;
  const at = cause.at ?? new Date();
  const previous = request.status;
  request.status = next;
  request.updatedAt = at;
  const base = { returnId: request.id, orderId: request.orderId, userId: request.userId };
  const options = { correlationId: request.orderId, causation: cause.event };
  switch (trigger.type) {
    case "approve":
      record(tx, request, next, previous, null, cause, at);
      emit(createEvent("return.approved", base, options));
      break;
    case "reject":
      record(tx, request, next, previous, trigger.reason, cause, at);
      emit(createEvent("return.rejected", { ...base, reason: trigger.reason }, options));
      break;
    case "receive":
      request.warehouseId = trigger.warehouseId;
      record(tx, request, next, previous, null, cause, at);
      emit(
        createEvent(
          "return.received",
          { ...base, warehouseId: trigger.warehouseId, lines: request.storedLines.map(lineOf), refund: request.value },
          options,
        ),
      );
      break;
    case "refund":
      request.refundAmount = trigger.amount.amount;
      request.refundCurrency = trigger.amount.currency;
      record(tx, request, next, previous, null, cause, at);
      emit(createEvent("return.refunded", { ...base, amount: trigger.amount }, options));
      break;
    default: {
      const unhandled: never = trigger;
      throw new Error(`unhandled return trigger ${JSON.stringify(unhandled)}`);
    }
  }
  return true;
}
