import type { Identity } from "@commerce/kit";

export interface GatewayContext {
  identity: Identity | null;
  requestId: string;
  ip: string;
}
