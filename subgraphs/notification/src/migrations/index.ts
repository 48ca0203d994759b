import { Migration20261122020000_notification } from "./Migration20261122020000_notification";
import { Migration20261202150000_order_names } from "./Migration20261202150000_order_names";
import { Migration20261202160000_order_name_templates } from "./Migration20261202160000_order_name_templates";
import { Migration20261207130000_analytics } from "./Migration20261207130000_analytics";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122020000_notification", class: Migration20261122020000_notification },
  { name: "Migration20261202150000_order_names", class: Migration20261202150000_order_names },
  { name: "Migration20261202160000_order_name_templates", class: Migration20261202160000_order_name_templates },
  { name: "Migration20261207130000_analytics", class: Migration20261207130000_analytics },
];
