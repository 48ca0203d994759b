import { RemoteGraphQLDataSource } from "@apollo/gateway";
import { signIdentityHeaders, traceHeaders } from "@commerce/kit";
import type { GatewayContext } from "./context";

/**
 * Forwards each subgraph call with the caller's identity, signed with INTERNAL_SECRET, the request id
 * and the W3C `traceparent` of the active span (Apollo's fetch span), so the subgraph joins the trace.
 *
 * Calls go through Node's own `fetch` (undici), not Apollo's default (make-fetch-happen), whose agent
 * keeps idle connections open forever: the subgraph closed them after its keep-alive timeout, and a
 * request sent on one just as it closed failed with "socket hang up" (a masked internal error for the
 * client, seen after idle periods). undici closes an idle connection a second before the timeout the
 * server announces (`Keep-Alive: timeout=65`).
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string, private readonly secret: string) {
    super({ url, fetcher: fetch as unknown as RemoteGraphQLDataSource["fetcher"] });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>["willSendRequest"]>>[0]): void {
    const headers = { ...signIdentityHeaders(context?.identity ?? null, this.secret, context?.requestId), ...traceHeaders() };
    for (const [name, value] of Object.entries(headers)) request.http?.headers.set(name, value);
  }
}
