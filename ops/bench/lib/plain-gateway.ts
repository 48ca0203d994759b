/**
 * The yardstick of `npm run bench -- reads`: a plain `@apollo/gateway` in Apollo Server's standalone
 * server, on the same supergraph, subgraphs and environment as ours, with nothing of ours but the
 * identity signing the subgraphs require (bearer token verified, identity signed with INTERNAL_SECRET),
 * served the way Apollo documents it (Express and `expressMiddleware`, plus a `/health` for the bench).
 * Apollo's defaults everywhere else: its fetcher, no rate limits, query limits, metrics or tracing.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { IDENTITY_HEADER, REQUEST_ID_HEADER, encodeIdentity, signRequestInit, type Identity } from "@commerce/kit";
import { identityFromAuthorization, loadGatewayConfig } from "@commerce/gateway";

interface PlainContext {
  identity: Identity | null;
}

const config = loadGatewayConfig();

/** Signs each fetch for its subgraph over the body sent, as the subgraphs require (kit/src/auth.ts). */
class SigningDataSource extends RemoteGraphQLDataSource<PlainContext> {
  constructor(name: string, url: string) {
    const signedFetch = (target: string, init: RequestInit & { headers: Record<string, string>; body?: string }) =>
      fetch(target, signRequestInit(config.internalSecret, name, init));
    super({ url, fetcher: signedFetch as unknown as RemoteGraphQLDataSource["fetcher"] });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<PlainContext>["willSendRequest"]>>[0]): void {
    request.http?.headers.set(IDENTITY_HEADER, encodeIdentity(context?.identity ?? null));
    request.http?.headers.set(REQUEST_ID_HEADER, randomUUID());
  }
}

async function main(): Promise<void> {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.supergraphPath, "utf8"),
    buildService: ({ name, url }) => new SigningDataSource(name, config.subgraphUrls[name as keyof typeof config.subgraphUrls] ?? (url as string)),
  });
  const server = new ApolloServer<PlainContext>({ gateway });
  await server.start();
  const app = express();
  app.get("/health", (_req, res) => void res.json({ status: "ok" }));
  app.use(
    "/graphql",
    express.json({ limit: "1mb" }),
    expressMiddleware(server, { context: async ({ req }) => ({ identity: identityFromAuthorization(req.headers.authorization, config) }) }),
  );
  app.listen(config.port, "127.0.0.1", () => console.log(`plain gateway on :${config.port}`));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
