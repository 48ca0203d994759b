import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "@commerce/kit";
import type { UserSettings } from "../settings";

/**
 * Mails a password reset link. The user service sends it itself instead of through the notification
 * service: the token is a credential, and the event stream and the notification table (which STAFF
 * read through orders) must not carry it. A lost mail is recovered by requesting another one.
 */
export class ResetMailer {
  private readonly transport: Transporter;

  constructor(
    private readonly settings: UserSettings,
    private readonly logger: Logger,
  ) {
    this.transport = nodemailer.createTransport({
      url: settings.smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    } as nodemailer.TransportOptions);
  }

  /** Sends in the background: how long the request takes must not tell whether the account exists. */
  send(to: string, name: string, token: string): void {
    const link = `${this.settings.passwordResetUrl}?token=${encodeURIComponent(token)}`;
    const minutes = Math.round(this.settings.passwordResetTtlSeconds / 60);
    const text = [
      `Hi ${name},`,
      "",
      `Someone (hopefully you) asked to reset the password of your account. Open ${link} or use this code with resetPassword within ${minutes} minutes:`,
      "",
      token,
      "",
      "It works once. If you did not ask for it, ignore this message: your password stays as it is.",
    ].join("\n");
    this.transport
      .sendMail({ from: this.settings.smtpFrom, to, subject: "Reset your password", text })
      .catch((error) => this.logger.error({ err: error }, "password reset mail could not be sent"));
  }
}
