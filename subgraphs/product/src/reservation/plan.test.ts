import { planReservation, unitsByProduct } from "./plan";

const stock = [
  { productId: "p1", warehouseId: "w1", available: 3 },
  { productId: "p1", warehouseId: "w2", available: 5 },
  { productId: "p2", warehouseId: "w1", available: 1 },
];

describe("planReservation", () => {
  it("takes from the warehouse with most available first and splits when needed", () => {
    const plan = planReservation(new Map([["p1", 7]]), new Set(["p1"]), stock);
    expect(plan).toEqual({
      ok: true,
      lines: [
        { productId: "p1", warehouseId: "w2", quantity: 5 },
        { productId: "p1", warehouseId: "w1", quantity: 2 },
      ],
    });
  });

  it("reserves nothing when any line is short, and lists every shortage", () => {
    const plan = planReservation(
      new Map([
        ["p1", 2],
        ["p2", 2],
        ["p3", 1],
      ]),
      new Set(["p1", "p2"]),
      stock,
    );
    expect(plan).toEqual({
      ok: false,
      shortages: [
        { productId: "p2", requested: 2, available: 1 },
        { productId: "p3", requested: 1, available: 0 },
      ],
    });
  });

  it("treats a product that is not orderable as having nothing available", () => {
    expect(planReservation(new Map([["p1", 1]]), new Set(), stock)).toEqual({
      ok: false,
      shortages: [{ productId: "p1", requested: 1, available: 0 }],
    });
  });

  it("adds up an order's lines of the same product", () => {
    expect([
      ...unitsByProduct([
        { productId: "a", quantity: 2 },
        { productId: "b", quantity: 1 },
        { productId: "a", quantity: 3 },
      ]),
    ]).toEqual([
      ["a", 5],
      ["b", 1],
    ]);
  });
});
