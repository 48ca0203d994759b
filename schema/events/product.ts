import { z } from "zod";
import { Id, Money } from "./common";

const Quantity = z.number().int().positive();

/**
 * Contracts of the `product` stream: catalog and inventory events.
 * Inventory lives in the product service, so `inventory.*` is published on this stream too.
 */
export const productContracts = {
  /** Emitted on create, update and delete (`active: false`): consumers keep a local copy of what they need. */
  "product.upserted": {
    1: z.object({
      productId: Id,
      sku: z.string().min(1),
      name: z.string(),
      price: Money,
      active: z.boolean(),
      /** The product's category (added compatibly: older entries lack them). */
      categoryId: Id.nullable().optional(),
      categoryName: z.string().nullable().optional(),
    }),
  },
  "inventory.reserved": {
    1: z.object({
      orderId: Id,
      userId: Id,
      total: Money,
      items: z
        .array(
          z.object({
            productId: Id,
            quantity: Quantity,
            /** The price the order was placed at, and the product's name, for the invoice (added compatibly: older entries lack them). */
            unitPrice: Money.optional(),
            name: z.string().optional(),
          }),
        )
        .min(1),
    }),
  },
  "inventory.rejected": {
    1: z.object({
      orderId: Id,
      userId: Id,
      reason: z.string(),
      shortages: z.array(z.object({ productId: Id, requested: z.number().int(), available: z.number().int() })),
    }),
  },
  "inventory.released": { 1: z.object({ orderId: Id, reason: z.string() }) },
  "inventory.committed": { 1: z.object({ orderId: Id }) },
  "inventory.restocked": { 1: z.object({ orderId: Id }) },
  /** A received return's units are back on hand in `warehouseId` (once per return). */
  "inventory.return_restocked": {
    1: z.object({
      returnId: Id,
      orderId: Id,
      warehouseId: Id,
      items: z.array(z.object({ productId: Id, quantity: Quantity })).min(1),
    }),
  },
  "inventory.low_stock": {
    1: z.object({
      productId: Id,
      sku: z.string().min(1),
      name: z.string(),
      available: z.number().int(),
      threshold: z.number().int(),
    }),
  },
} as const;
