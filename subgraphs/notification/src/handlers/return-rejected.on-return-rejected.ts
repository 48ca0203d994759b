import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const returnRejectedOnReturnRejected: EventHandler<"return.rejected"> = (event, { em }) =>
  notifyOrderOwner(em, event, "return_rejected", { reason: event.payload.reason });
