import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner, unitsOf } from "../notification/notify";

export const returnRequestedOnReturnRequested: EventHandler<"return.requested"> = (event, { em }) =>
  notifyOrderOwner(em, event, "return_requested", { units: unitsOf(event.payload.lines), reason: event.payload.reason });
