import type { EventHandler } from "@commerce/kit";
import { notifyReturn, unitsOf } from "./return-status";

export const returnRequestedOnReturnRequested: EventHandler<"return.requested"> = (event, ctx) =>
  notifyReturn("return_requested", event, ctx, { units: unitsOf(event.payload.lines), reason: event.payload.reason });
