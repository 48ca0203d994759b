import type { MikroORM } from "@mikro-orm/postgresql";
import { productSubgraph } from "../module";
import { startProductSubgraph, type ProductTestSubgraph } from "../test-support";

let service: ProductTestSubgraph;
beforeAll(async () => {
  service = await startProductSubgraph();
});
afterAll(() => service?.stop());

// Only our tables: the outbox, processed-event and audit tables belong to @commerce/streams and
// @commerce/kit (their own migrations and entities); their drift is theirs to fix and must neither
// hide nor fail ours.

test("the committed migrations create exactly the schema the product entities describe", async () => {
  const orm = service.runtime.orm as MikroORM;
  const ours = new Set(productSubgraph.entities.map((entity) => orm.getMetadata().get((entity as { name: string }).name).tableName));
  const mentionsOurs = (statement: string) => [...statement.matchAll(/"([a-z_]+)"/g)].some(([, name]) => ours.has(name));
  const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  expect(ours.size).toBe(8);
  const drift = diff
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement && mentionsOurs(statement));
  expect(drift).toEqual([]);
});

test("search runs on the trigram index, not a scan of every product", async () => {
  // An empty table would be scanned anyway; forbidding scans (in this transaction only) shows whether the index can answer.
  const plan: { "QUERY PLAN": string }[] = await service.runtime.orm.em.fork().transactional(async (tx) => {
    await tx.execute("set local enable_seqscan = off");
    return tx.execute(`explain select id from products where (sku || ' ' || name || ' ' || coalesce(description, '')) ilike '%widget%'`);
  });
  expect(plan.map((row) => row["QUERY PLAN"]).join("\n")).toContain("products_search_trgm_index");
});
