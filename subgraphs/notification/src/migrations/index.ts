import { Migration20261122020000_notification } from "./Migration20261122020000_notification";
import { Migration20261202100000_cancellation_reason } from "./Migration20261202100000_cancellation_reason";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122020000_notification", class: Migration20261122020000_notification },
  { name: "Migration20261202100000_cancellation_reason", class: Migration20261202100000_cancellation_reason },
];
