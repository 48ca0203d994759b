import type { EventHandler } from "@commerce/kit";
import { upsertRecipient } from "../recipient/recipient.entity";

/** Keeps the replica's role current: low-stock alerts go to whoever is STAFF now. */
export const recipientOnUserRoleChanged: EventHandler<"user.role_changed"> = async (event, { em }) => {
  await upsertRecipient(em, event.payload);
};
