import { crashLooped, decideRetry } from "./retry-policy";

const settings = { maxDeliveries: 5, baseMs: 200, maxMs: 10_000 };

describe("decideRetry", () => {
  it("retries a handler failure with a counted delivery, backing off by deliveries within ±20 %", () => {
    for (const [deliveries, exact] of [
      [1, 200],
      [2, 400],
      [4, 1_600],
    ] as const) {
      const decision = decideRetry({ deliveries, transient: false, outage: 0 }, settings);
      expect(decision).toMatchObject({ kind: "retry", counted: true });
      if (decision.kind !== "retry") throw new Error("unreachable");
      expect(decision.delayMs).toBeGreaterThanOrEqual(exact * 0.8);
      expect(decision.delayMs).toBeLessThanOrEqual(exact * 1.2);
    }
  });

  it("dead-letters a handler failure at maxDeliveries, with the deliveries as attempts", () => {
    expect(decideRetry({ deliveries: 5, transient: false, outage: 0 }, settings)).toEqual({ kind: "dead-letter", attempts: 5 });
    expect(decideRetry({ deliveries: 9, transient: false, outage: 0 }, settings)).toEqual({ kind: "dead-letter", attempts: 9 });
  });

  it("never dead-letters a transient failure, backs off by the outage and does not count a delivery", () => {
    const decision = decideRetry({ deliveries: 50, transient: true, outage: 3 }, settings);
    expect(decision).toMatchObject({ kind: "retry", counted: false });
    if (decision.kind !== "retry") throw new Error("unreachable");
    expect(decision.delayMs).toBeGreaterThanOrEqual(800 * 0.8);
    expect(decision.delayMs).toBeLessThanOrEqual(800 * 1.2);
  });

  it("caps the delay at maxMs (with its jitter)", () => {
    const decision = decideRetry({ deliveries: 40, transient: true, outage: 40 }, settings);
    if (decision.kind !== "retry") throw new Error("expected a retry");
    expect(decision.delayMs).toBeLessThanOrEqual(12_000);
    expect(decision.delayMs).toBeGreaterThanOrEqual(8_000);
  });
});

describe("crashLooped", () => {
  it("is null up to maxDeliveries and names the attempts before this delivery beyond it", () => {
    expect(crashLooped(1, 5)).toBeNull();
    expect(crashLooped(5, 5)).toBeNull();
    expect(crashLooped(6, 5)).toEqual({ attempts: 5 });
  });
});
