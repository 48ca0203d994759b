import type { EventHandler } from "@commerce/kit";
import { notify, nameOf } from "../notification/notify";
import { upsertRecipient } from "../recipient/recipient.entity";

/** Replicates the new user and welcomes them. */
export const welcomeOnUserRegistered: EventHandler<"user.registered"> = async (event, { em }) => {
  await upsertRecipient(em, event.payload);
  await notify(em, {
    eventId: event.id,
    template: "welcome",
    userIds: [event.payload.userId],
    data: (recipient) => ({ name: nameOf(recipient), email: event.payload.email }),
  });
};
