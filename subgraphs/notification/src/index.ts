export { notificationSubgraph } from "./module";
