import type { Logger } from "@commerce/kit";
import type { Notification } from "../notification/notification.entity";
import type { Channel } from "./channel";

/**
 * In-app notifications are the stored rows themselves, created SENT (see Notification); this channel only
 * drains a PENDING in-app row written before that rule.
 */
export class InAppChannel implements Channel {
  async send(): Promise<void> {}
}

/** A simulated SMS provider (there is no SMS gateway): logs the message and succeeds. */
export class SimulatedSmsChannel implements Channel {
  constructor(private readonly logger: Logger) {}

  async send(notification: Notification): Promise<void> {
    this.logger.info({ userId: notification.userId, notificationId: notification.id, text: notification.body }, "SMS sent (simulated)");
  }
}
