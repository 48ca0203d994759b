import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { asUser, startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { notificationSubgraph } from "./module";
import type { NotificationSettings } from "./settings";
import { notify } from "./notification/notify";

let service: TestSubgraph<NotificationSettings>;
const em = (): EntityManager => service.runtime.orm.em.fork() as EntityManager;
const codeOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;
const fieldOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.field;

beforeAll(async () => {
  service = await startTestSubgraph(notificationSubgraph, {
    SMTP_URL: process.env.TEST_SMTP_URL ?? `smtp://127.0.0.1:${process.env.TEST_SMTP_PORT}`,
  });
});
afterAll(async () => {
  await service?.stop();
});

/** Creates `count` order_shipped notifications (in-app + e-mail each) for one user's orders, as the handler would. */
async function seed(userId: string, count: number): Promise<string[]> {
  const orderIds = Array.from({ length: count }, () => randomUUID());
  for (const orderId of orderIds) {
    await em().transactional((tx) =>
      notify(tx as EntityManager, {
        eventId: randomUUID(),
        template: "order_shipped",
        userIds: [userId],
        orderId,
        data: () => ({ name: "Ann", orderId }),
      }),
    );
  }
  return orderIds;
}

const ORDER = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { notifications { channel template body status } } } }`;
const USER = `query($reps: [_Any!]!, $first: Int, $after: String) { _entities(representations: $reps) { ... on User { id notifications(first: $first, after: $after) { totalCount edges { cursor node { id template } } pageInfo { hasNextPage endCursor } } } } }`;
const PREFS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { notificationPreferences { email inApp sms } } } }`;
const orders = (...ids: string[]) => ({ reps: ids.map((id) => ({ __typename: "Order", id })) });
const users = (...ids: string[]) => ({ reps: ids.map((id) => ({ __typename: "User", id })) });

describe("Order.notifications", () => {
  it("shows an order's notifications to its owner, STAFF and ADMIN, and FORBIDDEN to other customers", async () => {
    const owner = randomUUID();
    const [orderId] = await seed(owner, 1);
    const mine = await service.gql(ORDER, orders(orderId), asUser(owner));
    expect(mine.errors).toBeUndefined();
    expect(mine.data).toEqual({
      _entities: [
        {
          notifications: expect.arrayContaining([
            { channel: "IN_APP", template: "order_shipped", body: `Order ${orderId} has shipped.`, status: expect.any(String) },
            { channel: "EMAIL", template: "order_shipped", body: expect.stringContaining(orderId), status: expect.any(String) },
          ]),
        },
      ],
    });
    for (const role of ["STAFF", "ADMIN"] as const)
      expect((await service.gql(ORDER, orders(orderId), asUser(randomUUID(), role))).errors).toBeUndefined();
    expect(codeOf(await service.gql(ORDER, orders(orderId), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect(codeOf(await service.gql(ORDER, orders(orderId), null))).toBe("UNAUTHENTICATED");
  });
});

describe("User.notifications", () => {
  it("pages the user's own notifications newest first, with cursors and a total", async () => {
    const userId = await (async () => randomUUID())();
    await seed(userId, 3); // 6 notifications
    const first = await service.gql<{
      _entities: {
        notifications: { totalCount: number; edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      }[];
    }>(USER, { ...users(userId), first: 4 }, asUser(userId));
    expect(first.errors).toBeUndefined();
    const page1 = first.data!._entities[0].notifications;
    expect(page1.totalCount).toBe(6);
    expect(page1.edges).toHaveLength(4);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await service.gql<typeof first.data>(USER, { ...users(userId), first: 4, after: page1.pageInfo.endCursor }, asUser(userId));
    const page2 = second.data!._entities[0].notifications;
    expect(page2.edges).toHaveLength(2);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const ids = [...page1.edges, ...page2.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(6);
  });

  it("lets STAFF and ADMIN read anyone's, refuses other customers and anonymous callers, and caps first at 100", async () => {
    const userId = randomUUID();
    await seed(userId, 1);
    for (const role of ["STAFF", "ADMIN"] as const)
      expect((await service.gql(USER, users(userId), asUser(randomUUID(), role))).errors).toBeUndefined();
    expect(codeOf(await service.gql(USER, users(userId), asUser(randomUUID())))).toBe("FORBIDDEN");
    expect(codeOf(await service.gql(USER, users(userId), null))).toBe("UNAUTHENTICATED");
    const tooMany = await service.gql(USER, { ...users(userId), first: 101 }, asUser(userId));
    expect([codeOf(tooMany), fieldOf(tooMany)]).toEqual(["BAD_USER_INPUT", "first"]);
    const badCursor = await service.gql(USER, { ...users(userId), after: "nope" }, asUser(userId));
    expect([codeOf(badCursor), fieldOf(badCursor)]).toEqual(["BAD_USER_INPUT", "after"]);
  });

  it("resolves many users' pages with the same statements as one", async () => {
    const userIds = Array.from({ length: 8 }, () => randomUUID());
    for (const userId of userIds) await seed(userId, 1);
    const knex = service.runtime.orm.em.getConnection().getKnex();
    const count = async (ids: string[]) => {
      let seen = 0;
      // The page queries (raw SQL); the delivery job's claims and polls run meanwhile and are left out.
      const listener = (query: { sql: string }) => void (/from notifications/.test(query.sql) && !/PENDING/.test(query.sql) && seen++);
      knex.on("query", listener);
      try {
        const result = await service.gql(USER, users(...ids), asUser(randomUUID(), "ADMIN"));
        expect(result.errors).toBeUndefined();
      } finally {
        knex.removeListener("query", listener);
      }
      return seen;
    };
    const one = await count(userIds.slice(0, 1));
    expect(one).toBe(2);
    expect(await count(userIds)).toBe(one);
  });
});

describe("preferences", () => {
  it("shows defaults, then the user's own changes, and only to the user", async () => {
    const userId = randomUUID();
    expect((await service.gql(PREFS, users(userId), asUser(userId))).data).toEqual({
      _entities: [{ notificationPreferences: { email: true, inApp: true, sms: false } }],
    });
    const updated = await service.gql(`mutation { updateNotificationPreferences(inApp: false) { email inApp sms } }`, {}, asUser(userId));
    expect(updated.data).toEqual({ updateNotificationPreferences: { email: true, inApp: false, sms: false } });
    expect((await service.gql(PREFS, users(userId), asUser(userId))).data).toEqual({
      _entities: [{ notificationPreferences: { email: true, inApp: false, sms: false } }],
    });
    expect(codeOf(await service.gql(PREFS, users(userId), asUser(randomUUID(), "ADMIN")))).toBe("FORBIDDEN");
    expect(codeOf(await service.gql(`mutation { updateNotificationPreferences(sms: true) { sms } }`, {}, null))).toBe("UNAUTHENTICATED");
  });
});

describe("templates", () => {
  const UPSERT = `mutation($key: String!, $channel: NotificationChannel!, $subject: String, $body: String!) {
    upsertNotificationTemplate(key: $key, channel: $channel, subject: $subject, body: $body) { key channel subject body } }`;

  it("lists the seeded defaults to ADMIN only", async () => {
    const listed = await service.gql<{ notificationTemplates: { key: string; channel: string }[] }>(
      `{ notificationTemplates { key channel subject body } }`,
      {},
      asUser(randomUUID(), "ADMIN"),
    );
    const keys = new Set(listed.data!.notificationTemplates.map((t) => t.key));
    for (const key of [
      "welcome",
      "order_confirmed",
      "payment_failed",
      "out_of_stock",
      "order_cancelled",
      "order_shipped",
      "order_completed",
      "low_stock",
    ])
      expect(keys).toContain(key);
    expect(codeOf(await service.gql(`{ notificationTemplates { key } }`, {}, asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
  });

  it("lets an ADMIN replace a template, used for the next notifications", async () => {
    const admin = asUser(randomUUID(), "ADMIN");
    const saved = await service.gql(UPSERT, { key: "order_shipped", channel: "IN_APP", body: "Shipped: {{ orderId }}!" }, admin);
    expect(saved.data).toEqual({
      upsertNotificationTemplate: { key: "order_shipped", channel: "IN_APP", subject: null, body: "Shipped: {{ orderId }}!" },
    });
    const userId = randomUUID();
    const [orderId] = await seed(userId, 1);
    const shown = await service.gql<{ _entities: { notifications: { channel: string; body: string }[] }[] }>(ORDER, orders(orderId), asUser(userId));
    expect(shown.data!._entities[0].notifications.find((n) => n.channel === "IN_APP")?.body).toBe(`Shipped: ${orderId}!`);
  });

  it("lets an ADMIN edit the order_completed template like the others", async () => {
    const variables = { key: "order_completed", channel: "SMS", body: "Order {{orderId}} is done, {{name}}." };
    const saved = await service.gql(UPSERT, variables, asUser(randomUUID(), "ADMIN"));
    expect(saved.errors).toBeUndefined();
    expect(saved.data).toEqual({ upsertNotificationTemplate: { ...variables, subject: null } });
    const refused = await service.gql(UPSERT, { key: "order_completed", channel: "IN_APP", body: "{{total}}" }, asUser(randomUUID(), "ADMIN"));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "body" });
  });

  it.each([
    [{ key: "nope", channel: "IN_APP", body: "x" }, "key"],
    [{ key: "welcome", channel: "EMAIL", body: "<p>x</p>" }, "subject"],
    [{ key: "welcome", channel: "IN_APP", body: "  " }, "body"],
    [{ key: "welcome", channel: "IN_APP", body: "Hi {{password}}" }, "body"],
    [{ key: "welcome", channel: "EMAIL", subject: "{{total}}", body: "x" }, "subject"],
    [{ key: "welcome", channel: "IN_APP", body: "Hi {{name" }, "body"],
    [{ key: "welcome", channel: "EMAIL", subject: "Hi name}}", body: "x" }, "subject"],
    [{ key: "order_confirmed", channel: "IN_APP", body: "Hi {{{name}}}" }, "body"],
    [{ key: "order_confirmed", channel: "IN_APP", body: "Hi {{name}}}" }, "body"],
    [{ key: "order_confirmed", channel: "EMAIL", subject: "Order {{{orderId}}", body: "x" }, "subject"],
    [{ key: "order_confirmed", channel: "EMAIL", subject: "Order {{orderId}}", body: "<p>{{{{total}}}}</p>" }, "body"],
  ])("refuses %j naming %s", async (variables, field) => {
    const result = await service.gql(UPSERT, variables, asUser(randomUUID(), "ADMIN"));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
  });

  it("accepts adjacent placeholders and single braces", async () => {
    const variables = {
      key: "order_confirmed",
      channel: "EMAIL",
      subject: "{{orderId}}{{total}}",
      body: "<style>p { margin: 0 }</style><p>{ {{name}} }</p>",
    };
    const saved = await service.gql(UPSERT, variables, asUser(randomUUID(), "ADMIN"));
    expect(saved.errors).toBeUndefined();
    expect(saved.data).toEqual({ upsertNotificationTemplate: variables });
  });

  it("is ADMIN only", async () => {
    expect(codeOf(await service.gql(UPSERT, { key: "welcome", channel: "IN_APP", body: "x" }, asUser(randomUUID(), "STAFF")))).toBe("FORBIDDEN");
  });
});
