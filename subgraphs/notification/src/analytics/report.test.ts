import { allocate } from "./report";

describe("allocate", () => {
  it("gives each line its own price when the whole order is refunded", () => {
    expect(allocate(7_000, [4_500, 2_500])).toEqual([4_500, 2_500]);
  });

  it("splits a capped refund in proportion, in whole minor units that add up to it", () => {
    const shares = allocate(1_000, [1, 1, 1]);
    expect(shares).toEqual([334, 333, 333]);
    expect(allocate(999, [3_000, 1_500, 1_500]).reduce((sum, share) => sum + share, 0)).toBe(999);
    expect(allocate(5, [2, 2, 1])).toEqual([2, 2, 1]);
  });

  it("puts everything on the first line when the lines have no price", () => {
    expect(allocate(300, [0, 0])).toEqual([300, 0]);
  });
});
