import type { EventOf } from "@commerce/schema";
import { returnNotification } from "./return-status";

export const returnRejectedOnReturnRejected = returnNotification<EventOf<"return.rejected">, "return_rejected">("return_rejected", (p) => ({ reason: p.reason }));
