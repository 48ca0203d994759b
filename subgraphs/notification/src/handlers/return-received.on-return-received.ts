import type { EventOf } from "@commerce/schema";
import { returnNotification, unitsOf } from "./return-status";

export const returnReceivedOnReturnReceived = returnNotification<EventOf<"return.received">, "return_received">("return_received", (p) => ({ units: unitsOf(p.lines) }));
