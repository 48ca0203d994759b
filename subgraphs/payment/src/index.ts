export { paymentSubgraph } from "./module";
export { TEST_CARDS } from "./wallet/card-processor";
