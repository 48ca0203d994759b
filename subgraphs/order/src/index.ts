export { orderSubgraph } from "./module";
