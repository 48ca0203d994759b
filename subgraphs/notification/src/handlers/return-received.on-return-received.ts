import type { EventHandler } from "@commerce/kit";
import { notifyReturn, unitsOf } from "./return-status";

export const returnReceivedOnReturnReceived: EventHandler<"return.received"> = (event, ctx) =>
  notifyReturn("return_received", event, ctx, { units: unitsOf(event.payload.lines) });
