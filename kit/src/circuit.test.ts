import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { OVERLOADED_HEADER } from "./overload";
import { breakerStates, CircuitOpenError, fetchThroughBreaker, FAILURES_TO_OPEN, HALF_OPEN_AFTER_MS } from "./circuit";

const listen = (port = 0, status = 200, headers: Record<string, string> = {}) =>
  new Promise<Server>((resolve) => {
    const server = createServer((_req, res) => void res.writeHead(status, { "content-type": "application/json", ...headers }).end("{}"));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
const close = (server: Server) => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
const stateOf = (target: string) => breakerStates().find((entry) => entry.target === target)?.state;
const call = (target: string, port: number) => fetchThroughBreaker(target, `http://127.0.0.1:${port}/graphql`, { method: "POST", body: "{}" });

describe("fetchThroughBreaker", () => {
  it("refuses without a request while open (no wait on a dead target), then closes again once it is back", async () => {
    const server = await listen();
    const port = (server.address() as AddressInfo).port;
    expect((await call("killed", port)).status).toBe(200);
    expect(stateOf("killed")).toBe(0);
    await close(server);

    for (let i = 0; i < FAILURES_TO_OPEN; i += 1) await expect(call("killed", port)).rejects.toThrow(/fetch failed/);
    expect(stateOf("killed")).toBe(1);

    // The target is back, but an open breaker refuses without sending anything until its half-open probe.
    const back = await listen(port);
    let received = 0;
    back.on("request", () => (received += 1));
    try {
      const refused = await call("killed", port).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(CircuitOpenError);
      expect((refused as Error).message).toMatch(/^killed is unavailable: its circuit breaker is open/);
      expect(received).toBe(0);

      await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_AFTER_MS + 100));
      expect((await call("killed", port)).status).toBe(200);
      expect(received).toBe(1);
      expect(stateOf("killed")).toBe(0);
    } finally {
      await close(back);
    }
  });

  it("counts 5xx answers as failures, yet hands them back; other answers keep it closed", async () => {
    const failing = await listen(0, 503);
    const port = (failing.address() as AddressInfo).port;
    try {
      for (let i = 0; i < FAILURES_TO_OPEN; i += 1) expect((await call("overloaded", port)).status).toBe(503);
      await expect(call("overloaded", port)).rejects.toBeInstanceOf(CircuitOpenError);
    } finally {
      await close(failing);
    }
    const refusing = await listen(0, 401);
    const refusingPort = (refusing.address() as AddressInfo).port;
    try {
      for (let i = 0; i < FAILURES_TO_OPEN * 2; i += 1) expect((await call("strict", refusingPort)).status).toBe(401);
      expect(stateOf("strict")).toBe(0);
    } finally {
      await close(refusing);
    }
  });

  it("does not count a deliberate overload refusal as a failure: the service answered", async () => {
    const shedding = await listen(0, 503, { [OVERLOADED_HEADER]: "1" });
    const port = (shedding.address() as AddressInfo).port;
    try {
      for (let i = 0; i < FAILURES_TO_OPEN * 2; i += 1) expect((await call("shedding", port)).status).toBe(503);
      expect(stateOf("shedding")).toBe(0);
    } finally {
      await close(shedding);
    }
  });
});
