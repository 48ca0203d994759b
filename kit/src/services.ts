// The platform's processes and their default ports; no imports, so operator tools load it cheaply.
export const SUBGRAPHS = ["user", "product", "order", "payment", "notification"] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];
export type ProcessName = SubgraphName | "gateway";

export const DEFAULT_PORTS: Record<ProcessName, number> = {
  gateway: 4000,
  user: 4001,
  product: 4002,
  order: 4003,
  payment: 4004,
  notification: 4005,
};
