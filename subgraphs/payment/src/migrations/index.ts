import { Migration20261122010000_payment } from "./Migration20261122010000_payment";
import { Migration20261123090000_free_orders } from "./Migration20261123090000_free_orders";
import { Migration20261207100000_wallet_credits } from "./Migration20261207100000_wallet_credits";
import { Migration20261207110000_invoice_lines } from "./Migration20261207110000_invoice_lines";
import { Migration20261207120000_return_refunds } from "./Migration20261207120000_return_refunds";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122010000_payment", class: Migration20261122010000_payment },
  { name: "Migration20261123090000_free_orders", class: Migration20261123090000_free_orders },
  { name: "Migration20261207100000_wallet_credits", class: Migration20261207100000_wallet_credits },
  { name: "Migration20261207110000_invoice_lines", class: Migration20261207110000_invoice_lines },
  { name: "Migration20261207120000_return_refunds", class: Migration20261207120000_return_refunds },
];
