import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { UnauthenticatedError, requireOwnerOrStaff, type Context } from "@commerce/kit";
import { OrderRef } from "../federation/stubs";
import { Invoice } from "./invoice.entity";
import { Payment } from "./payment.entity";
import { invoiceByPaymentId, paymentByOrderId } from "./payment.loaders";

@Resolver(() => Payment)
export class PaymentResolver {
  @FieldResolver(() => Invoice, { nullable: true, description: "Issued when the payment is captured." })
  invoice(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Invoice | null> {
    return invoiceByPaymentId(ctx).load(payment.id);
  }
}

@Resolver(() => OrderRef)
export class OrderPaymentResolver {
  @FieldResolver(() => Payment, {
    nullable: true,
    description: "The order's payment (its owner, STAFF, ADMIN); null until the order is charged.",
  })
  async payment(@Root() order: OrderRef, @Ctx() ctx: Context): Promise<Payment | null> {
    if (!ctx.identity) throw new UnauthenticatedError();
    const payment = await paymentByOrderId(ctx).load(order.id);
    if (payment) requireOwnerOrStaff(ctx, payment.userId);
    return payment;
  }
}
