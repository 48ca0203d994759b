import { metricsAccess } from "./metrics";

const request = (remoteAddress: string, headers: Record<string, string> = {}) => ({ headers, socket: { remoteAddress } });

describe("metricsAccess", () => {
  it("without a token, lets in callers on this machine only, and not through a proxy", () => {
    const mayScrape = metricsAccess(undefined);
    expect(mayScrape(request("127.0.0.1"))).toBe(true);
    expect(mayScrape(request("::1"))).toBe(true);
    expect(mayScrape(request("::ffff:127.0.0.1"))).toBe(true);
    expect(mayScrape(request("10.0.0.7"))).toBe(false);
    expect(mayScrape(request("::ffff:192.168.1.9"))).toBe(false);
    expect(mayScrape(request("127.0.0.1", { "x-forwarded-for": "203.0.113.9" }))).toBe(false);
    expect(mayScrape(request("127.0.0.1", { forwarded: "for=203.0.113.9" }))).toBe(false);
  });

  it("with a token, lets in its bearer from anywhere and nobody else, local callers included", () => {
    const mayScrape = metricsAccess("scrape-token-0123");
    expect(mayScrape(request("10.0.0.7", { authorization: "Bearer scrape-token-0123" }))).toBe(true);
    expect(mayScrape(request("127.0.0.1"))).toBe(false);
    expect(mayScrape(request("10.0.0.7", { authorization: "Bearer scrape-token-012" }))).toBe(false);
    expect(mayScrape(request("10.0.0.7", { authorization: "scrape-token-0123" }))).toBe(false);
  });
});
