import { Migration20261122100000_orders } from "./Migration20261122100000_orders";

/** Committed migrations, oldest first. */
export const migrations = [{ name: "Migration20261122100000_orders", class: Migration20261122100000_orders }];
