export { userSubgraph } from "./module";
