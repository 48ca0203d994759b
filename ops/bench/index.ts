/**
 * `npm run bench -- <name> [args…]`: runs ops/bench/<name>.bench.ts (streams, saga, subscriptions…:
 * whichever exist). Without a name, or with an unknown one, prints the benches available.
 */
import fs from "node:fs";
import path from "node:path";

const available = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.slice(0, -".bench.ts".length))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  if (name) console.error(`no benchmark "${name}" (ops/bench/${name}.bench.ts does not exist)`);
  console.error(`usage: npm run bench -- <${available.join("|")}> [args…]`);
  console.error("each bench provisions its own infrastructure, prints figures and never fails on them");
  process.exit(2);
}
// The bench runs on import and exits by itself; it sees its own arguments as if started directly.
process.argv = [process.argv[0]!, path.join(__dirname, `${name}.bench.ts`), ...args];
require(`./${name}.bench`);
