import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner, unitsOf } from "../notification/notify";

export const returnReceivedOnReturnReceived: EventHandler<"return.received"> = (event, { em }) =>
  notifyOrderOwner(em, event, "return_received", { units: unitsOf(event.payload.lines) });
