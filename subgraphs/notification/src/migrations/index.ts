import { Migration20261122020000_notification } from "./Migration20261122020000_notification";

/** Committed migrations, oldest first. */
export const migrations = [{ name: "Migration20261122020000_notification", class: Migration20261122020000_notification }];
