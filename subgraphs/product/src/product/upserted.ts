import type { EntityManager } from "@mikro-orm/postgresql";
import { beforeCommit, raiseCatalogRevision, type Runtime } from "@commerce/kit";
import { createEvent, type Emit } from "@commerce/streams";
import type { Product } from "./product.entity";

/**
 * Announces `product`'s catalog state (`product.upserted`) and raises its catalog revision before the
 * transaction commits, so the order service knows its replica is behind until it has applied this event
 * (kit/src/catalog-cache.ts). Redis not confirming the revision rolls the change back.
 */
export async function emitUpserted(runtime: Runtime<unknown>, tx: EntityManager, emit: Emit, product: Product): Promise<void> {
  const event = createEvent("product.upserted", product.toUpsertedPayload(), { correlationId: product.id });
  emit(event);
  await beforeCommit(tx, () => raiseCatalogRevision(runtime.redis, runtime.config.streamPrefix, product.id, Date.parse(event.occurredAt)));
}
