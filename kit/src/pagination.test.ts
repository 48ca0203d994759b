// pagination.ts declares type-graphql object types: decorator metadata must exist first.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { BadUserInputError } from "./errors";
import { afterDateCursor, decodeCursor, encodeCursor } from "./pagination";

// Regression: hand-made cursors reached SQL (`id < 'x'`, `created_at < 'Invalid Date'`) and came
// back as INTERNAL_SERVER_ERROR from orders, notifications and audit logs.

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
    expect(decodeCursor(encodeCursor({ key: at, id }))).toEqual({ key: at, id });
    expect(decodeCursor(encodeCursor({ key: "Claw hammer", id }), "text")).toEqual({ key: "Claw hammer", id });
    expect(decodeCursor(null)).toBeNull();
    expect(decodeCursor(undefined)).toBeNull();
    expect(decodeCursor("")).toBeNull();
  });

  it.each([
    ["not base64 JSON", "garbage"],
    ["a non-UUID id", forge(["2020-01-01T00:00:00Z", "x"])],
    ["an invalid date", forge(["not-a-date", randomUUID()])],
    ["a date Postgres cannot store", forge([new Date(-8.64e15).toISOString(), randomUUID()])],
    ["a date past year 9999", forge(["+275760-09-13T00:00:00.000Z", randomUUID()])],
    ["a number key", forge([1, randomUUID()])],
    ["a single part", forge([randomUUID()])],
    ["an object", forge({ key: "2020-01-01T00:00:00Z", id: randomUUID() })],
  ])("refuses a timestamp cursor with %s, naming after", (_what, after) => {
    expect(refusal(() => decodeCursor(after))).toEqual(afterRefused);
  });

  it("takes any text key for text-keyed connections, but still only a UUID id", () => {
    expect(decodeCursor(forge(["not-a-date", id]), "text")).toEqual({ key: "not-a-date", id });
    expect(refusal(() => decodeCursor(forge(["Widget", "x"]), "text"))).toEqual(afterRefused);
    expect(refusal(() => decodeCursor("garbage", "text"))).toEqual(afterRefused);
    expect(refusal(() => decodeCursor(forge(["nul\u0000name", id]), "text"))).toEqual(afterRefused);
  });

  it("gives afterDateCursor a date it can send to Postgres", () => {
    const at = "2026-11-22T10:00:00.123Z";
    expect(afterDateCursor(decodeCursor(encodeCursor({ key: at, id })), "at")).toEqual({
      $or: [{ at: { $lt: new Date(at) } }, { at: new Date(at), id: { $lt: id } }],
    });
  });
});
