import type { Channel as ChannelName, Notification } from "../notification/notification.entity";
import type { Recipient } from "../recipient/recipient.entity";

/**
 * A way of reaching people. `send` resolves once the message is handed over
 * and throws (with a reason worth keeping) when it was not: the delivery job
 * then retries with backoff.
 */
export interface Channel {
  send(notification: Notification, recipient: Recipient | null): Promise<void>;
  close?(): Promise<void>;
}

export type Channels = Record<ChannelName, Channel>;
