import { z } from "zod";

/**
 * Money on the wire: integer minor units (cents) and an ISO 4217 code.
 * Integers, never floats, so sums and comparisons are exact in every service.
 */
export const Money = z.object({
  amount: z.number().int(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected a 3-letter ISO 4217 code, e.g. "EUR"'),
});
export type Money = z.infer<typeof Money>;

/** Ids of aggregates are opaque non-empty strings (uuids in practice; not enforced so a service may change id format). */
export const Id = z.string().min(1);

/** Timestamps are ISO 8601 with an offset, as produced by `Date.prototype.toISOString()`. */
export const IsoDateTime = z.iso.datetime({ offset: true });

/**
 * Thrown by `parseEvent` (and on publish) when a message does not match its contract.
 * The message names what is wrong, so an operator reading the dead-letter entry can fix the producer.
 */
export class MalformedEventError extends Error {
  readonly code = "MALFORMED_EVENT";
  override readonly name = "MalformedEventError";
  constructor(message: string) {
    super(message);
  }
}
