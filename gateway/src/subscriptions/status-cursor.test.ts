import { StatusCursor } from "./status-cursor";

const t = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms).toISOString();

describe("StatusCursor", () => {
  it("skips changes already in the initial state and accepts the next ones in order", () => {
    const cursor = new StatusCursor([
      { status: "PENDING", at: t(0) },
      { status: "STOCK_RESERVED", at: t(5) },
    ]);
    expect(cursor.accept({ status: "STOCK_RESERVED", at: t(5) })).toBe(false);
    expect(cursor.accept({ status: "PENDING", at: t(0) })).toBe(false);
    expect(cursor.accept({ status: "CONFIRMED", at: t(9) })).toBe(true);
    expect(cursor.accept({ status: "CONFIRMED", at: t(9) })).toBe(false);
  });

  it("drops a change older than one already sent", () => {
    const cursor = new StatusCursor();
    expect(cursor.accept({ status: "CONFIRMED", at: t(10) })).toBe(true);
    expect(cursor.accept({ status: "STOCK_RESERVED", at: t(4) })).toBe(false);
  });

  it("accepts two different changes within the same millisecond, each once", () => {
    const cursor = new StatusCursor([{ status: "PENDING", at: t(0) }]);
    expect(cursor.accept({ status: "STOCK_RESERVED", at: t(3) })).toBe(true);
    expect(cursor.accept({ status: "CONFIRMED", at: t(3) })).toBe(true);
    expect(cursor.accept({ status: "CONFIRMED", at: t(3) })).toBe(false);
    expect(cursor.accept({ status: "SHIPPED", at: t(4) })).toBe(true);
  });

  it("ignores an unreadable time", () => {
    expect(new StatusCursor().accept({ status: "PENDING", at: "yesterday" })).toBe(false);
  });
});
