import nodemailer, { type Transporter } from "nodemailer";
import type { Notification } from "../notification/notification.entity";
import type { Recipient } from "../recipient/recipient.entity";
import type { Channel } from "./channel";

/** E-mail over SMTP (a local sink in development and tests). */
export class EmailChannel implements Channel {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    // Timeouts well under the delivery lease: a hung server fails the attempt instead of holding it.
    // Pooled: one SMTP handshake per connection instead of per message (closed by `close`).
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    } as nodemailer.TransportOptions);
  }

  async send(notification: Notification, recipient: Recipient | null): Promise<void> {
    // The user stream may lag the order stream: retry until the replica knows the address.
    if (!recipient) throw new Error(`no e-mail address known yet for user ${notification.userId}`);
    await this.transport.sendMail({
      from: this.from,
      to: recipient.email,
      subject: notification.subject ?? notification.template,
      html: notification.body,
      text: htmlToText(notification.body),
    });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

const ENTITIES: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&" };

/** A plain-text alternative for mail clients that do not show HTML. */
function htmlToText(html: string): string {
  return html
    .replace(/<\/p>\s*/gi, "\n\n")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(lt|gt|quot|#39|amp);/g, (entity) => ENTITIES[entity])
    .trim();
}
