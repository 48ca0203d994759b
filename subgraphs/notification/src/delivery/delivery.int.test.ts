import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { ParsedEvent } from "@commerce/schema";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { smtpSink } from "@commerce/testing";
import { notificationSubgraph } from "../module";
import type { NotificationSettings } from "../settings";
import { DeliveryAttempt } from "../notification/delivery-attempt.entity";
import { Notification } from "../notification/notification.entity";
import { notify, wakeOnPendingCommit } from "../notification/notify";
import { event, eventually, publish } from "@commerce/testing/events";

let service: TestSubgraph<NotificationSettings>;
const em = (): EntityManager => service.runtime.orm.em.fork() as EntityManager;
const send = (envelope: ParsedEvent) => publish(service.runtime.redis, service.streamPrefix, envelope);
const notificationsOf = (userId: string) => em().find(Notification, { userId }, { orderBy: { template: "asc", channel: "asc" } });

beforeAll(async () => {
  service = await startTestSubgraph(notificationSubgraph, {
    SMTP_URL: process.env.TEST_SMTP_URL ?? `smtp://127.0.0.1:${process.env.TEST_SMTP_PORT}`,
    NOTIFICATION_MAX_ATTEMPTS: "3",
    NOTIFICATION_RETRY_BASE_MS: "50",
    NOTIFICATION_RETRY_MAX_MS: "200",
    NOTIFICATION_POLL_MS: "500",
  });
});
afterAll(async () => {
  await service?.stop();
});

async function processed(envelope: ParsedEvent): Promise<void> {
  await eventually(
    `${envelope.type} to be processed`,
    async () =>
      (await em().execute(`select 1 from processed_event where event_id = ? and consumer_group = 'notification'`, [envelope.id])).length > 0,
  );
}

async function register(role: "CUSTOMER" | "STAFF" | "ADMIN" = "CUSTOMER", name = "Ann") {
  const userId = randomUUID();
  const email = `${userId.slice(0, 8)}@example.com`;
  const registered = event("user.registered", { userId, email, name, role }, userId);
  await send(registered);
  await processed(registered);
  return { userId, email, registered };
}

describe("welcome", () => {
  it("e-mails a new user over SMTP with the name escaped in the HTML, and stores the in-app message", async () => {
    const { userId, email } = await register("CUSTOMER", `<script>alert("x")</script> Ann`);
    const mail = await smtpSink.waitFor(email);
    expect(mail.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Ann");
    expect(mail.html).not.toContain("<script>");
    expect(mail.subject).toContain("Welcome");

    const rows = await eventually("both notifications to be SENT", async () => {
      const all = await notificationsOf(userId);
      return all.every((n) => n.status === "SENT") && all;
    });
    expect(rows.map((n) => [n.template, n.channel, n.status])).toEqual([
      ["welcome", "EMAIL", "SENT"],
      ["welcome", "IN_APP", "SENT"],
    ]);
    expect(rows[0].sentAt).toBeInstanceOf(Date);
    expect(rows[0].attempts).toBe(1);
  });
});

describe("preferences", () => {
  it("creates no EMAIL notification for a user who switched e-mail off, and an SMS one when SMS is on", async () => {
    const { userId } = await register();
    const update = await service.gql(`mutation { updateNotificationPreferences(email: false, sms: true) { email inApp sms } }`, {}, asUser(userId));
    expect(update.data).toEqual({ updateNotificationPreferences: { email: false, inApp: true, sms: true } });
    const orderId = randomUUID();
    const confirmed = event("order.confirmed", { orderId, userId, total: { amount: 1_234, currency: "USD" } }, orderId);
    await send(confirmed);
    await processed(confirmed);

    const rows = (await notificationsOf(userId)).filter((n) => n.template === "order_confirmed");
    expect(rows.map((n) => n.channel)).toEqual(["IN_APP", "SMS"]);
    expect(rows[0].body).toBe(`Order ${orderId} is confirmed ($12.34).`);
  });
});

describe("order names", () => {
  it("calls an order by the name its customer gave it, on every message about it, and by its id when it has none", async () => {
    const { userId } = await register("CUSTOMER", "Noor");
    const named = randomUUID();
    const unnamed = randomUUID();
    const items = [{ productId: randomUUID(), quantity: 1, unitPrice: { amount: 500, currency: "USD" } }];
    const placed = event(
      "order.placed",
      { orderId: named, userId, items, total: { amount: 500, currency: "USD" }, name: "  Birthday gifts " },
      named,
    );
    const placedUnnamed = event("order.placed", { orderId: unnamed, userId, items, total: { amount: 500, currency: "USD" } }, unnamed);
    const confirmed = event("order.confirmed", { orderId: named, userId, total: { amount: 500, currency: "USD" } }, named);
    const failed = event(
      "payment.failed",
      { orderId: unnamed, userId, paymentId: randomUUID(), amount: { amount: 500, currency: "USD" }, reason: "insufficient balance" },
      unnamed,
    );
    for (const e of [placed, placedUnnamed, confirmed, failed]) await send(e);
    await processed(failed);
    await processed(confirmed);
    const rows = await notificationsOf(userId);
    const inApp = (template: string) => rows.find((n) => n.template === template && n.channel === "IN_APP")!.body;
    expect(inApp("order_confirmed")).toBe("Order Birthday gifts is confirmed ($5.00).");
    expect(inApp("payment_failed")).toBe(`Payment of $5.00 for order ${unnamed} failed: insufficient balance.`);
    // The order.placed entries themselves tell the customer nothing.
    expect(
      rows
        .filter((n) => n.orderId === named)
        .map((n) => n.template)
        .sort(),
    ).toEqual(["order_confirmed", "order_confirmed"]);
  });
});

describe("order completed", () => {
  it("tells the customer on every channel they want, once each, however often the event is delivered", async () => {
    const { userId } = await register("CUSTOMER", "Ann");
    await service.gql(`mutation { updateNotificationPreferences(sms: true) { sms } }`, {}, asUser(userId));
    const orderId = randomUUID();
    const completed = event("order.completed", { orderId, userId }, orderId);
    await send(completed);
    await send(completed);
    await processed(completed);
    // Handled again under the same id, past the consumer's processed-event record: the dedupe key alone must hold.
    await service.deliver(completed);

    const rows = await em().find(Notification, { orderId }, { orderBy: { channel: "asc" } });
    expect(rows.map((n) => [n.template, n.channel, n.userId])).toEqual([
      ["order_completed", "EMAIL", userId],
      ["order_completed", "IN_APP", userId],
      ["order_completed", "SMS", userId],
    ]);
    expect(rows[0].subject).toBe(`Order ${orderId} completed`);
    expect(rows[0].body).toContain("Hi Ann,");
    expect(rows[1].body).toBe(`Order ${orderId} is complete.`);
  });

  it("respects a customer who switched a channel off", async () => {
    const { userId } = await register();
    await service.gql(`mutation { updateNotificationPreferences(email: false) { email } }`, {}, asUser(userId));
    const orderId = randomUUID();
    const completed = event("order.completed", { orderId, userId }, orderId);
    await send(completed);
    await processed(completed);
    expect((await em().find(Notification, { orderId })).map((n) => n.channel)).toEqual(["IN_APP"]);
  });
});

describe("low stock", () => {
  it("alerts every STAFF user, as the role replica stands now, and nobody else", async () => {
    const staff = await Promise.all([register("STAFF", "Sam"), register("STAFF", "Sue")]);
    const promoted = await register("CUSTOMER", "Pat");
    const demoted = await register("STAFF", "Dan");
    const customer = await register("CUSTOMER");
    const admin = await register("ADMIN");
    const promote = event(
      "user.role_changed",
      { userId: promoted.userId, email: promoted.email, name: "Pat", role: "STAFF", previousRole: "CUSTOMER" },
      promoted.userId,
    );
    const demote = event(
      "user.role_changed",
      { userId: demoted.userId, email: demoted.email, name: "Dan", role: "CUSTOMER", previousRole: "STAFF" },
      demoted.userId,
    );
    await send(promote);
    await send(demote);
    await processed(demote);

    const low = event("inventory.low_stock", { productId: randomUUID(), sku: "SKU-1", name: "<b>Widget</b>", available: 2, threshold: 5 }, "p");
    await send(low);
    await processed(low);

    const alerts = await em().find(Notification, { template: "low_stock", channel: "IN_APP" });
    const alerted = alerts.map((n) => n.userId).sort();
    expect(alerted).toEqual([...staff.map((s) => s.userId), promoted.userId].sort());
    for (const other of [demoted, customer, admin]) expect(alerted).not.toContain(other.userId);
    const mail = await smtpSink.waitFor(staff[0].email, (m) => m.subject.includes("SKU-1"));
    expect(mail.html).toContain("&lt;b&gt;Widget&lt;/b&gt; (SKU-1) is down to 2 (threshold 5)");
  });
});

// After "low stock", which counts every STAFF alert: this one adds a STAFF user.
describe("SMS", () => {
  const smsOn = (userId: string) => service.gql(`mutation { updateNotificationPreferences(sms: true) { sms } }`, {}, asUser(userId));
  const texts = async (userId: string) =>
    (await em().find(Notification, { userId, channel: "SMS" }, { orderBy: { createdAt: "asc" } })).map((n) => [n.template, n.body]);

  it("sends every kind of notification by SMS to a customer who turned it on", async () => {
    const userId = randomUUID();
    await smsOn(userId); // before the registration is handled: the welcome goes by SMS too
    const registered = event("user.registered", { userId, email: `${userId.slice(0, 8)}@example.com`, name: "Ann", role: "CUSTOMER" }, userId);
    await send(registered);
    await processed(registered);
    const [rejectedId, cancelledId] = [randomUUID(), randomUUID()];
    const rejected = event("inventory.rejected", { orderId: rejectedId, userId, reason: "not enough stock", shortages: [] }, rejectedId);
    const cancelled = event(
      "order.cancelled",
      { orderId: cancelledId, userId, reason: "changed my mind", previousStatus: "CONFIRMED", expired: false },
      cancelledId,
    );
    const refunded = event(
      "payment.refunded",
      { orderId: cancelledId, userId, paymentId: randomUUID(), amount: { amount: 4_200, currency: "USD" } },
      cancelledId,
    );
    for (const envelope of [rejected, cancelled, refunded]) {
      await send(envelope);
      await processed(envelope);
    }
    expect(await texts(userId)).toEqual([
      ["welcome", "Welcome, Ann!"],
      ["out_of_stock", `Order ${rejectedId} is out of stock: not enough stock. You have not been charged.`],
      ["order_cancelled", `Order ${cancelledId} cancelled.`],
      ["payment_refunded", `Refunded $42.00 for order ${cancelledId}.`],
    ]);
  });

  it("sends the low-stock alert by SMS to STAFF who turned it on", async () => {
    const { userId } = await register("STAFF", "Sam");
    await smsOn(userId);
    const low = event("inventory.low_stock", { productId: randomUUID(), sku: "SKU-SMS", name: "Widget", available: 1, threshold: 3 }, "p");
    await send(low);
    await processed(low);
    expect(await texts(userId)).toEqual([["low_stock", "Low stock: SKU-SMS has 1 left (threshold 3)."]]);
  });
});

describe("delivery failures", () => {
  it("retries a failing e-mail with backoff, then marks it FAILED, while other e-mail still goes out", async () => {
    const doomedId = randomUUID();
    const doomedEmail = `${doomedId.slice(0, 8)}@example.com`;
    await smtpSink.fail(100, { to: doomedEmail });
    await send(event("user.registered", { userId: doomedId, email: doomedEmail, name: "Doomed", role: "CUSTOMER" }, doomedId));
    const { email: fineEmail } = await register();

    await smtpSink.waitFor(fineEmail);
    const failed = await eventually("the e-mail to be FAILED", async () => {
      const row = await em().findOne(Notification, { userId: doomedId, channel: "EMAIL" });
      return row?.status === "FAILED" && row;
    });
    expect(failed.attempts).toBe(3);
    expect(failed.sentAt).toBeNull();
    expect(failed.lastError).toMatch(/451/);
    const attempts = await em().find(DeliveryAttempt, { notificationId: failed.id }, { orderBy: { at: "asc" } });
    expect(attempts.map((a) => a.ok)).toEqual([false, false, false]);
    // Backoff: each retry waited longer than the base delay.
    expect(attempts[1].at.getTime() - attempts[0].at.getTime()).toBeGreaterThanOrEqual(45);
    expect(await smtpSink.messages(doomedEmail)).toEqual([]);
    // Its in-app twin was not held back by it.
    expect((await em().findOneOrFail(Notification, { userId: doomedId, channel: "IN_APP" })).status).toBe("SENT");
  });
});

describe("recording outcomes", () => {
  it("records e-mails that finish together in shared transactions, each exactly once", async () => {
    const users = Array.from({ length: 40 }, () => randomUUID());
    const registered = users.map((userId) =>
      event("user.registered", { userId, email: `${userId.slice(0, 8)}@example.com`, name: "Ann", role: "CUSTOMER" }, userId),
    );
    await Promise.all(registered.map(send));
    const emails = await eventually("every e-mail to be SENT", async () => {
      const rows = await em().find(Notification, { userId: { $in: users }, channel: "EMAIL" });
      return rows.length === users.length && rows.every((n) => n.status === "SENT") && rows;
    });
    expect(emails.every((n) => n.attempts === 1)).toBe(true);
    const attempts = await em().execute<{ rows: string; transactions: string }[]>(
      `select count(*) as rows, count(distinct xmin::text) as transactions from delivery_attempts where notification_id = any(string_to_array(?, ',')::uuid[])`,
      [emails.map((n) => n.id).join(",")],
    );
    expect(Number(attempts[0].rows)).toBe(users.length);
    // Rows written by one transaction share its xmin: fewer transactions than e-mails means they were batched.
    expect(Number(attempts[0].transactions)).toBeLessThan(users.length);
    // In-app messages are delivered by being stored: SENT at once, no send, no attempt row.
    const inApp = await em().find(Notification, { userId: { $in: users }, channel: "IN_APP" });
    expect(inApp.map((n) => [n.status, n.attempts, n.sentAt?.getTime()])).toEqual(inApp.map((n) => ["SENT", 1, n.createdAt.getTime()]));
    expect(await em().count(DeliveryAttempt, { notificationId: { $in: inApp.map((n) => n.id) } })).toBe(0);
  });
});

describe("duplicates", () => {
  it("creates each notification once when an event is redelivered, or handled again under the same id", async () => {
    const { userId, registered } = await register();
    await send(registered);
    const marker = event("order.shipped", { orderId: randomUUID(), userId }, "x");
    await send(marker);
    await processed(marker);
    // Bypass the consumer's processed-event record: the dedupe key alone must hold.
    await em().transactional((tx) =>
      notify(tx as EntityManager, {
        eventId: registered.id,
        template: "welcome",
        userIds: [userId],
        data: () => ({ name: "Ann", email: "x@example.com" }),
      }),
    );
    const welcome = (await notificationsOf(userId)).filter((n) => n.template === "welcome");
    expect(welcome.map((n) => n.channel)).toEqual(["EMAIL", "IN_APP"]);
  });
});

describe("in-process wake-up (no Postgres NOTIFY)", () => {
  it("wakes after the commit of a transaction that created notifications, and not for a rollback or a duplicate", async () => {
    const { userId } = await register();
    const visibleAtWake: number[] = [];
    let wakes = 0;
    let active = true; // the subscriber stays registered: inert after this test
    // Checks, when woken, that the new rows are already committed (a wake before commit would claim nothing).
    service.runtime.orm.em.getEventManager().registerSubscriber(
      wakeOnPendingCommit(() => {
        if (!active) return;
        wakes += 1;
        void em()
          .count(Notification, { userId, template: "order_shipped" })
          .then((n) => visibleAtWake.push(n));
      }),
    );
    const shipped = (eventId: string) => (tx: EntityManager) =>
      notify(tx, { eventId, template: "order_shipped", userIds: [userId], data: () => ({ name: "Ann", orderId: "o-1" }) });
    const eventId = randomUUID();
    await expect(
      em().transactional(async (tx) => {
        await shipped(eventId)(tx as EntityManager);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(wakes).toBe(0);
    await em().transactional((tx) => shipped(eventId)(tx as EntityManager));
    expect(wakes).toBe(1);
    await eventually("the woken check to run", async () => visibleAtWake.length === 1);
    expect(visibleAtWake[0]).toBeGreaterThan(0);
    await em().transactional((tx) => shipped(eventId)(tx as EntityManager)); // same event: nothing inserted
    expect(wakes).toBe(1);
    active = false;
  });
});

describe("cancellation and refund, in either order", () => {
  const cancelled = (orderId: string, userId: string) =>
    event("order.cancelled", { orderId, userId, reason: "changed my mind", previousStatus: "CONFIRMED", expired: false }, orderId);
  const refunded = (orderId: string, userId: string) =>
    event("payment.refunded", { orderId, userId, paymentId: randomUUID(), amount: { amount: 4_200, currency: "USD" } }, orderId);
  const inApp = async (orderId: string) =>
    (await em().find(Notification, { orderId, channel: "IN_APP" }, { orderBy: { createdAt: "asc" } })).map((n) => [n.template, n.body]);

  it("tells the refund separately when it arrives after the cancellation", async () => {
    const { userId } = await register();
    const orderId = randomUUID();
    const first = cancelled(orderId, userId);
    await send(first);
    await processed(first);
    const second = refunded(orderId, userId);
    await send(second);
    await processed(second);
    expect(await inApp(orderId)).toEqual([
      ["order_cancelled", `Order ${orderId} was cancelled: changed my mind.`],
      ["payment_refunded", `Refunded $42.00 for order ${orderId}.`],
    ]);
  });

  it("tells the refund inside the cancellation when it arrived first", async () => {
    const { userId } = await register();
    const orderId = randomUUID();
    const first = refunded(orderId, userId);
    await send(first);
    await processed(first);
    const second = cancelled(orderId, userId);
    await send(second);
    await processed(second);
    expect(await inApp(orderId)).toEqual([
      ["order_cancelled", `Order ${orderId} was cancelled: changed my mind. We refunded $42.00 to your wallet.`],
    ]);
  });
});
