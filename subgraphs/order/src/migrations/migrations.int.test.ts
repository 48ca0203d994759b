import type { MikroORM } from "@mikro-orm/postgresql";
import { startOrderSubgraph, type OrderTestSubgraph } from "../test-support";

let subgraph: OrderTestSubgraph;
beforeAll(async () => {
  subgraph = await startOrderSubgraph();
});
afterAll(() => subgraph?.stop());

// The outbox tables belong to @commerce/streams (its own migration and entities); their
// drift, if any, is that package's to fix and must not hide or fail ours.
const STREAMS_TABLES = /"(outbox|processed_event)"|outbox_/;

test("the committed migrations create exactly the schema the order entities describe", async () => {
  const orm = subgraph.runtime.orm as MikroORM;
  const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  const ours = diff
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement && !STREAMS_TABLES.test(statement));
  expect(ours).toEqual([]);
});
