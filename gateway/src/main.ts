import cluster from "node:cluster";
import { createLogger } from "@commerce/kit";
import { runPrimary } from "./cluster";
import { loadGatewayConfig } from "./config";

const config = loadGatewayConfig();

if (config.workers > 1 && cluster.isPrimary) {
  runPrimary(config.workers, createLogger({ service: "gateway", level: config.logLevel, pretty: config.logPretty }));
} else {
  // Loaded here: the primary of a cluster serves nothing and needs none of it.
  const { startGateway } = require("./server") as typeof import("./server");
  startGateway(config).then(
    (gateway) => {
      const shutdown = () =>
        void gateway.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    },
    (error) => {
      console.error(`gateway failed to start: ${(error as Error).stack ?? error}`);
      process.exit(1);
    },
  );
}
