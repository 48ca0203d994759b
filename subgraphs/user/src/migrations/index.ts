import { Migration20261122000000_users } from "./Migration20261122000000_users";
import { Migration20261202170000_refresh_reuse_answers } from "./Migration20261202170000_refresh_reuse_answers";
import { Migration20261207120000_password_reset } from "./Migration20261207120000_password_reset";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122000000_users", class: Migration20261122000000_users },
  { name: "Migration20261202170000_refresh_reuse_answers", class: Migration20261202170000_refresh_reuse_answers },
  { name: "Migration20261207120000_password_reset", class: Migration20261207120000_password_reset },
];
