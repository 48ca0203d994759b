export { productSubgraph } from "./module";
