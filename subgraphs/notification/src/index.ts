export { notificationSubgraph } from "./module";
export { rebuildAnalytics, type RebuildSources } from "./analytics/rebuild";
