export { loadGatewayConfig, type GatewayConfig } from "./config";
export { identityFromAuthorization } from "./identity";
export { startGateway, type RunningGateway } from "./server";
