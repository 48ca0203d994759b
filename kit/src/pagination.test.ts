// pagination.ts declares type-graphql object types: decorator metadata must exist first.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { BadUserInputError } from "./errors";
import { afterDateCursor, decodeCursor, encodeCursor } from "./pagination";

// A hand-made cursor never reaches SQL (`id < 'x'`, `created_at < 'Invalid Date'`): it is bad input.

const forge = (parts: unknown): string => Buffer.from(JSON.stringify(parts)).toString("base64url");

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    return { code: (error as BadUserInputError).code, field: (error as BadUserInputError).field };
  }
  throw new Error("expected the cursor to be refused");
};
const afterRefused = { code: "BAD_USER_INPUT", field: "after" };

describe("decodeCursor", () => {
  const id = randomUUID();

  it("decodes what encodeCursor made, and nothing for no cursor", () => {
    const at = new Date("2026-11-22T10:00:00.123Z").toISOString();
    expect(decodeCursor(encodeCursor({ key: at, id }, "orders"), "orders")).toEqual({ key: at, id });
    expect(decodeCursor(encodeCursor({ key: "Claw hammer", id }, "products"), "products", "text")).toEqual({ key: "Claw hammer", id });
    expect(decodeCursor(null, "orders")).toBeNull();
    expect(decodeCursor(undefined, "orders")).toBeNull();
    expect(decodeCursor("", "orders")).toBeNull();
  });

  it("refuses a cursor of another list, saying whose it is", () => {
    const at = new Date("2026-11-22T10:00:00.123Z").toISOString();
    const ordersCursor = encodeCursor({ key: at, id }, "orders");
    expect(refusal(() => decodeCursor(ordersCursor, "products", "text"))).toEqual(afterRefused);
    expect(refusal(() => decodeCursor(ordersCursor, "notifications"))).toEqual(afterRefused);
    expect(() => decodeCursor(ordersCursor, "notifications")).toThrow(/a cursor of orders, not of notifications/);
  });

  it.each([
    ["not base64 JSON", "garbage"],
    ["a non-UUID id", forge(["orders", "2020-01-01T00:00:00Z", "x"])],
    ["an invalid date", forge(["orders", "not-a-date", randomUUID()])],
    ["a date Postgres cannot store", forge(["orders", new Date(-8.64e15).toISOString(), randomUUID()])],
    ["a date past year 9999", forge(["orders", "+275760-09-13T00:00:00.000Z", randomUUID()])],
    ["a number key", forge(["orders", 1, randomUUID()])],
    ["no list (the earlier two-part form)", forge(["2020-01-01T00:00:00Z", randomUUID()])],
    ["a single part", forge([randomUUID()])],
    ["an object", forge({ list: "orders", key: "2020-01-01T00:00:00Z", id: randomUUID() })],
  ])("refuses a timestamp cursor with %s, naming after", (_what, after) => {
    expect(refusal(() => decodeCursor(after, "orders"))).toEqual(afterRefused);
  });

  it("takes any text key for text-keyed connections, but still only a UUID id", () => {
    expect(decodeCursor(forge(["products", "not-a-date", id]), "products", "text")).toEqual({ key: "not-a-date", id });
    expect(refusal(() => decodeCursor(forge(["products", "Widget", "x"]), "products", "text"))).toEqual(afterRefused);
    expect(refusal(() => decodeCursor("garbage", "products", "text"))).toEqual(afterRefused);
    expect(refusal(() => decodeCursor(forge(["products", "nul\u0000name", id]), "products", "text"))).toEqual(afterRefused);
  });

  it("gives afterDateCursor a date it can send to Postgres", () => {
    const at = "2026-11-22T10:00:00.123Z";
    expect(afterDateCursor(decodeCursor(encodeCursor({ key: at, id }, "audit"), "audit"), "at")).toEqual({
      $or: [{ at: { $lt: new Date(at) } }, { at: new Date(at), id: { $lt: id } }],
    });
  });
});
