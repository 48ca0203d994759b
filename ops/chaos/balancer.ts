/**
 * A tiny HTTP load balancer standing in for a Kubernetes Service in front of a subgraph's replicas:
 * round-robin, and a connection that is refused (replica down) is tried on the next replica. A request
 * that fails after it reached a replica is NOT retried here (it may have committed): the caller gets a
 * 502, exactly like behind a real proxy, and the client's retry (with its idempotency key) decides.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Balancer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const REFUSED = new Set(["ECONNREFUSED", "EHOSTUNREACH"]);

function forward(
  target: number,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = http.request(
      {
        host: "127.0.0.1",
        port: target,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `127.0.0.1:${target}` },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    out.on("timeout", () => out.destroy(new Error("upstream timeout")));
    out.on("error", reject);
    out.end(body);
  });
}

/** Listens on a free port and spreads requests over `ports()` (read per request: replicas come and go). */
export async function startBalancer(ports: () => number[]): Promise<Balancer> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const targets = ports();
      let lastError = "no replica";
      for (let i = 0; i < targets.length; i += 1) {
        const target = targets[(next + i) % targets.length];
        try {
          const answer = await forward(target, req, body);
          next = (next + i + 1) % targets.length;
          const headers = { ...answer.headers };
          delete headers["transfer-encoding"];
          headers["content-length"] = String(answer.body.length);
          res.writeHead(answer.status, headers).end(answer.body);
          return;
        } catch (error) {
          lastError = (error as Error).message;
          // only a refused connection proves the request never reached the replica
          if (!REFUSED.has((error as NodeJS.ErrnoException).code ?? "")) break;
        }
      }
      res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: `balancer: ${lastError}` }] }));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
