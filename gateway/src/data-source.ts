import { randomUUID } from "node:crypto";
import { RemoteGraphQLDataSource } from "@apollo/gateway";
import {
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  SIGNED_IN_EXTENSION,
  encodeIdentity,
  fetchThroughBreaker,
  signRequestInit,
  traceHeaders,
  type BaseConfig,
} from "@commerce/kit";
import type { GatewayContext } from "./context";
import { verifiedAccessToken } from "./identity";

type DataSource = RemoteGraphQLDataSource<GatewayContext>;

/**
 * Where the gateway sends a subgraph's fetches: the URL the supergraph names (a registry's supergraph
 * knows where its subgraphs run), unless `SUBGRAPH_<NAME>_URL` is set explicitly.
 */
export function subgraphUrl(config: Pick<BaseConfig, "subgraphUrlOverrides">, name: string, supergraphUrl: string | undefined): string {
  const url = config.subgraphUrlOverrides[name as keyof BaseConfig["subgraphUrlOverrides"]] ?? supergraphUrl;
  if (!url) throw new Error(`The supergraph names no URL for subgraph "${name}" and SUBGRAPH_${name.toUpperCase()}_URL is not set.`);
  return url;
}

/**
 * Forwards each subgraph call with the caller's identity, signed for that subgraph over the exact body
 * (kit/src/auth.ts), through the subgraph's circuit breaker; sign-ins become the identity of the rest
 * of their operation. Why each rule: docs/GATEWAY.md "Calling subgraphs".
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly signIns: Pick<BaseConfig, "jwt"> | null;

  /** `signIns`: the access-token settings, for the one subgraph trusted to report sign-ins (user); null for the others. */
  constructor(options: { name: string; url: string; secret: string; signIns?: Pick<BaseConfig, "jwt"> | null }) {
    const { name, secret } = options;
    const signedFetch = (url: string, init: RequestInit & { headers: Record<string, string>; body?: string }) =>
      fetchThroughBreaker(name, url, signRequestInit(secret, name, init));
    super({ url: options.url, fetcher: signedFetch as unknown as RemoteGraphQLDataSource["fetcher"] });
    this.signIns = options.signIns ?? null;
  }

  /** The identity and request id headers; the fetcher signs them with the body. */
  override willSendRequest({ request, context }: Parameters<NonNullable<DataSource["willSendRequest"]>>[0]): void {
    const headers = {
      [IDENTITY_HEADER]: encodeIdentity(context?.identity ?? null),
      [REQUEST_ID_HEADER]: context?.requestId ?? randomUUID(),
      ...traceHeaders(),
    };
    for (const [header, value] of Object.entries(headers)) request.http?.headers.set(header, value);
  }

  override didReceiveResponse({
    response,
    context,
  }: Parameters<NonNullable<DataSource["didReceiveResponse"]>>[0]): ReturnType<NonNullable<DataSource["didReceiveResponse"]>> {
    if (typeof response.extensions !== "object" || response.extensions === null || !(SIGNED_IN_EXTENSION in response.extensions)) return response;
    const { [SIGNED_IN_EXTENSION]: reported, ...extensions } = response.extensions;
    const signedIn = this.signIns && context ? this.verifiedSignIn(reported) : null;
    if (signedIn) context.identity = signedIn;
    return { ...response, extensions };
  }

  /** The user of a reported sign-in, or null when the report is not a valid access token (nothing is upgraded). */
  private verifiedSignIn(reported: unknown): GatewayContext["identity"] {
    const accessToken = (reported as { accessToken?: unknown } | null)?.accessToken;
    if (typeof accessToken !== "string" || !this.signIns) return null;
    try {
      return verifiedAccessToken(accessToken, this.signIns).identity;
    } catch {
      return null;
    }
  }
}
