import type { EventOf } from "@commerce/schema";
import type { Handler } from "@commerce/streams";
import { notify, nameOf } from "../notification/notify";
import { upsertRecipient } from "../recipient/recipient.entity";

/** Replicates the new user and welcomes them. */
export const welcomeOnUserRegistered: Handler<EventOf<"user.registered">> = async (event, { em }) => {
  await upsertRecipient(em, event.payload);
  await notify(em, {
    eventId: event.id,
    template: "welcome",
    userIds: [event.payload.userId],
    data: (recipient) => ({ name: nameOf(recipient), email: event.payload.email }),
  });
};
