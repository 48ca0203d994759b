import type { EnvReader } from "@commerce/kit";

export interface OrderSettings {
  /** A saga still PENDING or STOCK_RESERVED this long after placement is expired as a cancellation. */
  sagaDeadlineMs: number;
  /** How often the expiry job looks for such orders. */
  expirySweepMs: number;
  /** A SHIPPED or COMPLETED order may be returned this many days after it shipped. */
  returnWindowDays: number;
}

export function readSettings(read: EnvReader): OrderSettings {
  return {
    sagaDeadlineMs: read.int("SAGA_DEADLINE_MS", 120_000, { min: 100 }),
    expirySweepMs: read.int("SAGA_EXPIRY_SWEEP_MS", 5_000, { min: 50, max: 3_600_000 }),
    returnWindowDays: read.int("RETURN_WINDOW_DAYS", 30, { min: 0, max: 3650 }),
  };
}
