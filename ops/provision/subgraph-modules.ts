import type { SubgraphModule, SubgraphName } from "@commerce/kit";

// Each module is typed by its own settings; callers here only pass them through, hence the casts.
const MODULES: Record<SubgraphName, () => Promise<SubgraphModule<unknown>>> = {
  user: async () => (await import("@commerce/user")).userSubgraph as SubgraphModule<unknown>,
  product: async () => (await import("@commerce/product")).productSubgraph as SubgraphModule<unknown>,
  order: async () => (await import("@commerce/order")).orderSubgraph as SubgraphModule<unknown>,
  payment: async () => (await import("@commerce/payment")).paymentSubgraph as SubgraphModule<unknown>,
  notification: async () => (await import("@commerce/notification")).notificationSubgraph as SubgraphModule<unknown>,
};

/** A subgraph's module by service name, loaded on demand. */
export function loadSubgraphModule(name: SubgraphName): Promise<SubgraphModule<unknown>> {
  return MODULES[name]();
}
