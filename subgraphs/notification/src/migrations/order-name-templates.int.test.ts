import type { EntityManager } from "@mikro-orm/postgresql";
import { startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { notificationSubgraph } from "../module";
import type { NotificationSettings } from "../settings";
import { Template } from "../template/template.entity";
import { Migration20261202160000_order_name_templates } from "./Migration20261202160000_order_name_templates";

let service: TestSubgraph<NotificationSettings>;
const em = (): EntityManager => service.runtime.orm.em.fork() as EntityManager;

beforeAll(async () => {
  service = await startTestSubgraph(notificationSubgraph, { SMTP_URL: "smtp://127.0.0.1:1" });
});
afterAll(() => service?.stop());

async function runMigration(direction: "up" | "down" = "up"): Promise<void> {
  const migration = new Migration20261202160000_order_name_templates(service.runtime.orm.em.getDriver(), service.runtime.orm.config);
  await migration[direction]();
  for (const query of migration.getQueries()) await em().execute(query as string);
}

it("moves unedited old default templates to {{orderName}} and leaves an ADMIN's edits alone", async () => {
  // An installation from before: its seeded defaults said {{orderId}}; an ADMIN rewrote one of them.
  await em().execute(
    `update templates set subject = 'Order {{orderId}} confirmed', body = '<p>Hi {{name}},</p><p>We received your payment of {{total}}; order {{orderId}} is confirmed.</p>' where key = 'order_confirmed' and channel = 'EMAIL'`,
  );
  await em().execute(`update templates set body = 'Order {{orderId}} has shipped.' where key = 'order_shipped' and channel = 'IN_APP'`);
  await em().execute(`update templates set body = 'Yours, {{orderId}}, is on its way!' where key = 'order_shipped' and channel = 'SMS'`);
  await runMigration();
  const template = (key: string, channel: string) => em().findOneOrFail(Template, { key, channel } as never);
  expect(await template("order_confirmed", "EMAIL")).toMatchObject({
    subject: "Order {{orderName}} confirmed",
    body: "<p>Hi {{name}},</p><p>We received your payment of {{total}}; order {{orderName}} is confirmed.</p>",
  });
  expect((await template("order_shipped", "IN_APP")).body).toBe("Order {{orderName}} has shipped.");
  expect((await template("order_shipped", "SMS")).body).toBe("Yours, {{orderId}}, is on its way!");
  // Rolled back, the unedited ones say {{orderId}} again, which older code knows.
  await runMigration("down");
  expect((await template("order_confirmed", "EMAIL")).subject).toBe("Order {{orderId}} confirmed");
  expect((await template("order_shipped", "IN_APP")).body).toBe("Order {{orderId}} has shipped.");
  expect((await template("order_shipped", "SMS")).body).toBe("Yours, {{orderId}}, is on its way!");
});
