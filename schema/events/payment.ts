import { z } from 'zod';
import { Id, Money } from './common';

/** Contracts of the `payment` stream. */
export const paymentContracts = {
  'payment.captured': {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money, invoiceNumber: z.string().min(1) }),
  },
  'payment.failed': {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money, reason: z.string() }),
  },
  'payment.refunded': {
    1: z.object({ orderId: Id, userId: Id, paymentId: Id, amount: Money }),
  },
} as const;
