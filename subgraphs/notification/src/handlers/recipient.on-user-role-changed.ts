import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { upsertRecipient } from "../recipient/recipient.entity";

/** Keeps the replica's role current: low-stock alerts go to whoever is STAFF now. */
export const recipientOnUserRoleChanged: Handler<EventOf<"user.role_changed">> = async (event, { em }) => {
  await upsertRecipient(em, event.payload);
};
