import { Migration20261122010000_payment } from "./Migration20261122010000_payment";

/** Committed migrations, oldest first. */
export const migrations = [{ name: "Migration20261122010000_payment", class: Migration20261122010000_payment }];
