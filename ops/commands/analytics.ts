/**
 * npm run analytics -- rebuild
 *
 * Rebuilds the sales projection (notification database, `analytics_*` tables) from the order, payment
 * and product databases, while the platform runs: the `analytics` consumer group goes on from there.
 */
import { rebuildAnalytics } from "@commerce/notification";
import { resolveTargets } from "./targets";

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== "rebuild") {
    console.error("usage: npm run analytics -- rebuild");
    return 2;
  }
  const { databases, describe } = resolveTargets();
  console.log(`rebuilding the sales projection from ${describe}`);
  const counts = await rebuildAnalytics(databases);
  console.log(`rebuilt: ${counts.orders} orders, ${counts.money} captures and refunds, ${counts.products} products`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`analytics rebuild failed: ${(error as Error).message}`);
      process.exit(2);
    },
  );
}
