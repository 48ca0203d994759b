import type { EventOf } from "@commerce/schema";
import type { EventContext } from "@commerce/kit";
import type { TemplateData, TemplateKey } from "../template/catalog";
import { notify, nameOf } from "../notification/notify";

type ReturnEvent = EventOf<"return.requested" | "return.approved" | "return.rejected" | "return.received" | "return.refunded">;

/** How many items a return sends back ("3 items"): product names are not kept by this service. */
export const unitsOf = (lines: { quantity: number }[]): string => {
  const units = lines.reduce((sum, line) => sum + line.quantity, 0);
  return units === 1 ? "1 item" : `${units} items`;
};

/**
 * Tells the customer a return moved on, from the template of that step. The dedupe key (event,
 * channel, user) makes a redelivery a no-op; each return's steps are separate events, so two returns
 * of one order are told apart.
 */
export async function notifyReturn<K extends TemplateKey>(
  template: K,
  event: ReturnEvent,
  { em }: EventContext,
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
