import type { EventOf } from "@commerce/schema";
import { returnNotification } from "./return-status";

export const returnApprovedOnReturnApproved = returnNotification<EventOf<"return.approved">, "return_approved">("return_approved", () => ({}));
