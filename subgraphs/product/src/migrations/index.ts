import { Migration20261122100000_catalog_inventory } from "./Migration20261122100000_catalog_inventory";

/** Committed migrations, oldest first. */
export const migrations = [{ name: "Migration20261122100000_catalog_inventory", class: Migration20261122100000_catalog_inventory }];
