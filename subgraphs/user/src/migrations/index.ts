import { Migration20261122000000_users } from "./Migration20261122000000_users";

/** Committed migrations, oldest first. */
export const migrations = [{ name: "Migration20261122000000_users", class: Migration20261122000000_users }];
