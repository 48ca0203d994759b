/** The event backbone alone, for the benches that measure it without a service: its ORM and a sample event. */
import { Migrator } from "@mikro-orm/migrations";
import { MikroORM } from "@mikro-orm/postgresql";
import { createEvent, streamsEntities, streamsMigrations } from "@commerce/streams";
import type { EventEnvelope } from "@commerce/schema";

/** An ORM over the streams tables (outbox, processed events…) of the database at `url`; `getMigrator().up()` creates them. */
export function openStreamsOrm(url: string, poolMax: number): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: url,
    entities: streamsEntities,
    extensions: [Migrator],
    migrations: { migrationsList: streamsMigrations, silent: true },
    pool: { min: 0, max: poolMax },
    debug: false,
  });
}

/** An `order.placed` of one item, the event the benches commit and publish. */
export function orderPlaced(orderId: string): EventEnvelope {
  return createEvent(
    "order.placed",
    {
      orderId,
      userId: "bench-user",
      items: [{ productId: "bench-product", quantity: 1, unitPrice: { amount: 990, currency: "EUR" } }],
      total: { amount: 990, currency: "EUR" },
    },
    { correlationId: orderId },
  );
}
