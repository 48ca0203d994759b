import { Entity, PrimaryKey, Property, type Opt } from "@mikro-orm/core";

/**
 * Remembers whether a product is currently at or below its low-stock
 * threshold, so `inventory.low_stock` goes out once per crossing rather than
 * on every sale below the line. A product starts "low" (it has no stock yet):
 * the first alert comes after stock rose above the threshold and fell again.
 */
@Entity({ tableName: "low_stock_markers" })
export class LowStockMarker {
  @PrimaryKey({ type: "uuid" })
  productId: string;

  @Property({ type: "boolean" })
  low: Opt<boolean> = true;

  @Property({ type: "timestamptz" })
  changedAt: Opt<Date> = new Date();

  constructor(productId: string) {
    this.productId = productId;
  }

  /** Records the latest availability; true when this is a fall to or below the threshold (alert once). */
  observe(available: number, threshold: number): boolean {
    const low = available <= threshold;
    if (low === this.low) return false;
    this.low = low;
    this.changedAt = new Date();
    return low;
  }
}
