import type { EventHandler } from "@commerce/kit";
import { notifyReturn } from "./return-status";

export const returnRejectedOnReturnRejected: EventHandler<"return.rejected"> = (event, ctx) =>
  notifyReturn("return_rejected", event, ctx, { reason: event.payload.reason });
