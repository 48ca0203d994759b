import { Migration20261122100000_catalog_inventory } from "./Migration20261122100000_catalog_inventory";
import { Migration20261122120000_sku_case_insensitive } from "./Migration20261122120000_sku_case_insensitive";
import { Migration20261123100000_category_names } from "./Migration20261123100000_category_names";
import { Migration20261207100000_product_sorts } from "./Migration20261207100000_product_sorts";
import { Migration20261207120000_return_restocks } from "./Migration20261207120000_return_restocks";

/** Committed migrations, oldest first. */
export const migrations = [
  { name: "Migration20261122100000_catalog_inventory", class: Migration20261122100000_catalog_inventory },
  { name: "Migration20261122120000_sku_case_insensitive", class: Migration20261122120000_sku_case_insensitive },
  { name: "Migration20261123100000_category_names", class: Migration20261123100000_category_names },
  { name: "Migration20261207100000_product_sorts", class: Migration20261207100000_product_sorts },
  { name: "Migration20261207120000_return_restocks", class: Migration20261207120000_return_restocks },
];
