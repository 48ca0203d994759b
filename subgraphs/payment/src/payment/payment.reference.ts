import { ownedReference } from "@commerce/kit";
import { paymentById } from "./payment.loaders";

/** Resolves `Payment` entities for the gateway, batched, for the payer, STAFF and ADMIN. */
export const paymentReference = ownedReference(
  (id, ctx) => paymentById(ctx).load(id),
  (payment) => payment.userId,
);
