import { auditLogResolver, type SubgraphModule } from "@commerce/kit";
import { chargeWalletOnInventoryReserved } from "./handlers/charge-wallet.on-inventory-reserved";
import { openWalletOnUserRegistered } from "./handlers/open-wallet.on-user-registered";
import { refundOnOrderCancelled } from "./handlers/refund.on-order-cancelled";
import { refundOnReturnReceived } from "./handlers/refund.on-return-received";
import { OrderRef, UserRef } from "./federation/stubs";
import { migrations } from "./migrations";
import { CancelledOrder } from "./payment/cancelled-order.entity";
import { Invoice } from "./payment/invoice.entity";
import { Payment } from "./payment/payment.entity";
import { paymentReference } from "./payment/payment.reference";
import { ReturnRefund } from "./payment/return-refund.entity";
import { OrderPaymentResolver, PaymentResolver } from "./payment/payment.resolver";
import { readSettings, type PaymentSettings } from "./settings";
import { Wallet } from "./wallet/wallet.entity";
import { WalletEntry } from "./wallet/wallet-entry.entity";
import { UserWalletResolver, WalletResolver } from "./wallet/wallet.resolver";

/** The payment subgraph: wallets and their ledger, payments, refunds, invoices. */
export const paymentSubgraph: SubgraphModule<PaymentSettings> = {
  name: "payment",
  entities: [Wallet, WalletEntry, Payment, Invoice, CancelledOrder, ReturnRefund],
  migrations,
  resolvers: [PaymentResolver, OrderPaymentResolver, UserWalletResolver, WalletResolver, auditLogResolver("paymentAuditLog", "payment")],
  // Entities reachable only through federation (`_entities`), not from Query or Mutation.
  orphanedTypes: [OrderRef, UserRef, Payment],
  referenceResolvers: { Payment: paymentReference },
  settings: readSettings,
  consumes: {
    // `product` carries inventory.*; nothing here reads product.upserted.
    streams: ["user", "product", "order"],
    handlers: {
      "user.registered": openWalletOnUserRegistered,
      "inventory.reserved": chargeWalletOnInventoryReserved,
      "order.cancelled": refundOnOrderCancelled,
      "return.received": refundOnReturnReceived,
    },
  },
};
