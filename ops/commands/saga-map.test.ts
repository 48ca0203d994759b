import { readFileSync } from "node:fs";
import { SAGA_MAP_PATH, sagaMap } from "./saga-map";

test("docs/SAGA-MAP.md is what the modules' consumes say (run `npm run saga-map`)", async () => {
  expect(readFileSync(SAGA_MAP_PATH, "utf8")).toBe(await sagaMap());
}, 120_000);
