import { loadGatewayConfig } from "./config";
import { startGateway } from "./server";

startGateway(loadGatewayConfig()).then(
  (gateway) => {
    const shutdown = () => void gateway.stop().then(() => process.exit(0), () => process.exit(1));
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  },
  (error) => {
    console.error(`gateway failed to start: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
