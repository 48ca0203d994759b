import { UnauthenticatedError, requireOwnerOrStaff, type Context } from "@commerce/kit";
import { paymentById } from "./payment.loaders";

/** Resolves `Payment` entities for the gateway, batched, for the payer, STAFF and ADMIN. */
export const paymentReference = {
  __resolveReference: async (reference: { id: string }, ctx: Context) => {
    if (!ctx.identity) throw new UnauthenticatedError();
    const payment = await paymentById(ctx).load(reference.id);
    if (payment) requireOwnerOrStaff(ctx, payment.userId);
    return payment;
  },
};
