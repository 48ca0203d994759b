import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignedDataSource } from "./data-source";

/**
 * The gateway closes an idle subgraph connection itself, before the keep-alive timeout the subgraph
 * announces: a request sent on a connection the subgraph is closing fails with "socket hang up".
 */
it("closes an idle subgraph connection itself, before the keep-alive timeout the subgraph announces", async () => {
  const closedByClient: number[] = [];
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ data: { ok: true } }));
  });
  server.keepAliveTimeout = 3_000; // announced as `Keep-Alive: timeout=3`
  let answeredAt = 0;
  server.on("connection", (socket) => socket.on("end", () => closedByClient.push(Date.now() - answeredAt)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const source = new SignedDataSource({ name: "probe", url, secret: "secret" });
    const response = await source.fetcher(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    answeredAt = Date.now();
    expect(await response.json()).toEqual({ data: { ok: true } });
    // The server would close at 3 s; the client must have hung up first (FIN from the client: "end").
    await new Promise((resolve) => setTimeout(resolve, 2_700));
    expect(closedByClient).toHaveLength(1);
    expect(closedByClient[0]).toBeLessThan(2_700);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
