import { z } from "zod";
import { Id, IsoDateTime } from "./common";

/** Contracts of the `notification` stream. */
export const notificationContracts = {
  /** An in-app notification was written for `userId` (the gateway pushes it to `myNotifications`). */
  "notification.created": {
    1: z.object({
      notificationId: Id,
      userId: Id,
      orderId: Id.nullable(),
      channel: z.enum(["EMAIL", "IN_APP", "SMS"]),
      template: z.string(),
      subject: z.string().nullable(),
      body: z.string(),
      status: z.enum(["PENDING", "SENT", "FAILED"]),
      createdAt: IsoDateTime,
      sentAt: IsoDateTime.nullable(),
    }),
  },
} as const;
