import { LowStockMarker } from "./low-stock-marker.entity";

test("alerts once per fall to or below the threshold and re-arms above it", () => {
  const marker = new LowStockMarker("p");
  expect(marker.observe(2, 3)).toBe(false); // a new product starts low: no alert for having no stock yet
  expect(marker.observe(10, 3)).toBe(false); // re-armed
  expect(marker.observe(3, 3)).toBe(true); // crossing
  expect(marker.observe(1, 3)).toBe(false); // still low
  expect(marker.observe(4, 3)).toBe(false); // re-armed
  expect(marker.observe(0, 3)).toBe(true); // next crossing
});
