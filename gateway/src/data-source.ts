import { RemoteGraphQLDataSource } from "@apollo/gateway";
import { signIdentityHeaders, traceHeaders } from "@commerce/kit";
import type { GatewayContext } from "./context";

/**
 * Forwards each subgraph call with the caller's identity, signed with INTERNAL_SECRET, the request id
 * and the W3C `traceparent` of the active span (Apollo's fetch span), so the subgraph joins the trace.
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string, private readonly secret: string) {
    super({ url });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>["willSendRequest"]>>[0]): void {
    const headers = { ...signIdentityHeaders(context?.identity ?? null, this.secret, context?.requestId), ...traceHeaders() };
    for (const [name, value] of Object.entries(headers)) request.http?.headers.set(name, value);
  }
}
