import type { z } from "zod";
import { orderContracts } from "./order";
import { notificationContracts } from "./notification";
import { paymentContracts } from "./payment";
import { productContracts } from "./product";
import { returnContracts } from "./returns";
import { userContracts } from "./user";

/**
 * Every event contract, by type then version. Consumers accept every version listed here;
 * producers emit the one named in {@link producedVersions}.
 */
export const contracts = {
  ...userContracts,
  ...productContracts,
  ...orderContracts,
  ...returnContracts,
  ...paymentContracts,
  ...notificationContracts,
} as const;

type Contracts = typeof contracts;

/** Every known event type, e.g. `'order.placed'`. */
export type EventType = keyof Contracts;

/** The versions of `T` consumers understand. */
export type EventVersion<T extends EventType> = keyof Contracts[T] & number;

/**
 * The version producers emit for each type. Rolling out a breaking change is two deploys:
 * first add `N+1` to the type's contracts and ship every consumer, then bump the number here.
 */
export const producedVersions = {
  "user.registered": 1,
  "user.role_changed": 1,
  "product.upserted": 1,
  "inventory.reserved": 1,
  "inventory.rejected": 1,
  "inventory.released": 1,
  "inventory.committed": 1,
  "inventory.restocked": 1,
  "inventory.low_stock": 1,
  "inventory.return_restocked": 1,
  "order.placed": 1,
  "order.status_changed": 1,
  "order.confirmed": 1,
  "order.cancelled": 1,
  "order.shipped": 1,
  "order.completed": 1,
  "return.requested": 1,
  "return.approved": 1,
  "return.rejected": 1,
  "return.received": 1,
  "return.refunded": 1,
  "payment.captured": 1,
  "payment.failed": 1,
  "payment.refunded": 1,
  "notification.created": 1,
  "payment.return_refunded": 1,
} as const satisfies { [T in EventType]: EventVersion<T> };

/** The version of `T` producers emit. */
export type ProducedVersion<T extends EventType> = (typeof producedVersions)[T];

/** The payload of `T` at version `V` (by default the version producers emit), e.g. `EventPayload<'order.placed'>`. */
export type EventPayload<T extends EventType, V extends EventVersion<T> = ProducedVersion<T>> = z.infer<
  Contracts[T][V] extends z.ZodType ? Contracts[T][V] : never
>;

/** The streams that carry events: one per producing service. */
export type Producer = "user" | "product" | "order" | "payment" | "notification";
export const producers: readonly Producer[] = ["user", "product", "order", "payment", "notification"];

/**
 * The producer (and so the stream) of an event type: the prefix before the dot,
 * except `inventory.*`, which the product service owns, and `return.*`, which the order service owns.
 */
export function streamForType(type: EventType): Producer {
  const prefix = type.slice(0, type.indexOf("."));
  if (prefix === "inventory") return "product";
  if (prefix === "return") return "order";
  return prefix as Producer;
}

/** True when `type` is a known event type. */
export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(contracts, type);
}
