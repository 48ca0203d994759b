import type { EventHandler } from "@commerce/kit";
import { notifyReturn } from "./return-status";

export const returnApprovedOnReturnApproved: EventHandler<"return.approved"> = (event, ctx) => notifyReturn("return_approved", event, ctx, {});
