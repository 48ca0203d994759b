import { DeliveryAttempt } from "./delivery-attempt.entity";
import { Notification } from "./notification.entity";

const policy = { maxAttempts: 3, delayMs: () => 1_000 };
const email = () =>
  new Notification({ userId: "u", orderId: null, channel: "EMAIL", template: "welcome", subject: "Hi", body: "Hello", eventId: "e" });

describe("Notification.recordAttempt", () => {
  it("keeps an SMTP error a row can store: no NUL (Postgres text refuses it), at most 1,000 characters", () => {
    const notification = email();
    const error = `451 try\u0000 later ${"x".repeat(2_000)}`;
    expect(notification.recordAttempt(error, policy)).toBe("retry");
    expect(notification.lastError).not.toContain("\u0000");
    expect(notification.lastError).toHaveLength(1_000);
    expect(notification.lastError!.startsWith("451 try later")).toBe(true);
    expect(new DeliveryAttempt(notification.id, error).error).toBe(notification.lastError);
  });

  it("creates in-app messages SENT, e-mail PENDING", () => {
    const inApp = new Notification({
      userId: "u",
      orderId: null,
      channel: "IN_APP",
      template: "welcome",
      subject: null,
      body: "Hello",
      eventId: "e",
    });
    expect([inApp.status, inApp.attempts, inApp.sentAt]).toEqual(["SENT", 1, inApp.createdAt]);
    expect([email().status, email().attempts, email().sentAt]).toEqual(["PENDING", 0, null]);
  });
});
