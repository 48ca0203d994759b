import { readFileSync } from "node:fs";
import { composeSdls, composeSupergraph, CompositionError, SUPERGRAPH_PATH } from "./compose";

describe("schema/supergraph.graphql", () => {
  it("is what the five subgraphs compose to today (run `npm run compose` when this fails)", async () => {
    const committed = readFileSync(SUPERGRAPH_PATH, "utf8");
    expect(await composeSupergraph()).toBe(committed);
  }, 60_000);

  it("exposes the public contract's entry points", () => {
    const sdl = readFileSync(SUPERGRAPH_PATH, "utf8");
    for (const field of [
      "placeOrder(",
      "cancelOrder(",
      "orderStatusChanged(",
      "register(",
      "topUpWallet(",
      "adjustStock(",
      "updateNotificationPreferences(",
    ]) {
      expect(sdl).toContain(field);
    }
  });
});

describe("composition errors", () => {
  it("name the subgraphs and the conflict", () => {
    const link = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])`;
    const compose = () =>
      composeSdls([
        { name: "order", url: "http://order", sdl: `${link} type Query { a: Int } type Money { amount: Int! }` },
        { name: "payment", url: "http://payment", sdl: `${link} type Query { b: Int } type Money { amount: String! }` },
      ]);
    expect(compose).toThrow(CompositionError);
    expect(compose).toThrow(/Money\.amount/);
    expect(compose).toThrow(/"order"/);
    expect(compose).toThrow(/"payment"/);
  });
});
