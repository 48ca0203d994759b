import type { EventOf } from "@commerce/schema";
import { returnNotification, unitsOf } from "./return-status";

export const returnRequestedOnReturnRequested = returnNotification<EventOf<"return.requested">, "return_requested">("return_requested", (p) => ({
  units: unitsOf(p.lines),
  reason: p.reason,
}));
