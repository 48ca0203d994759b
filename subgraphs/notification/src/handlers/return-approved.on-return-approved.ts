import type { EventHandler } from "@commerce/kit";
import { notifyOrderOwner } from "../notification/notify";

export const returnApprovedOnReturnApproved: EventHandler<"return.approved"> = (event, { em }) => notifyOrderOwner(em, event, "return_approved", {});
