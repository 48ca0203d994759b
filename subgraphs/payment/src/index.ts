export { paymentSubgraph } from "./module";
