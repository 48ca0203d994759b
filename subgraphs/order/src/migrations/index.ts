import { Migration20261122100000_orders } from "./Migration20261122100000_orders";
import { Migration20261207100000_returns } from "./Migration20261207100000_returns";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122100000_orders", class: Migration20261122100000_orders },
  { name: "Migration20261207100000_returns", class: Migration20261207100000_returns },
];
