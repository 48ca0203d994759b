import { assertNever } from "@commerce/kit";
import { Entity, Enum, PrimaryKey, Property, type Opt } from "@mikro-orm/core";

/** One line of a reservation: units of a product held in one warehouse. */
export interface ReservationLine {
  productId: string;
  warehouseId: string;
  quantity: number;
}

/**
 * RESERVED → COMMITTED (paid) | RELEASED (payment failed, or cancelled before payment);
 * COMMITTED → RESTOCKED (cancelled after payment).
 * REJECTED: order.placed could not be served (nothing held).
 * CANCELLED: a tombstone — the cancellation arrived before order.placed was
 * handled, so a late order.placed must reserve nothing.
 */
export const RESERVATION_STATUSES = ["RESERVED", "COMMITTED", "RELEASED", "RESTOCKED", "REJECTED", "CANCELLED"] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** What a cancellation did to the stock. */
export type CancelOutcome = "released" | "restocked" | "nothing";

/**
 * The inventory side of one order's saga, keyed by the order id so that
 * every event about an order finds (and is idempotent against) one row.
 */
@Entity({ tableName: "reservations" })
export class Reservation {
  @PrimaryKey({ type: "text" })
  orderId: string;

  @Property({ type: "text" })
  userId: string;

  @Enum({ items: () => RESERVATION_STATUSES, type: "text" })
  status: ReservationStatus;

  @Property({ type: "json" })
  lines: Opt<ReservationLine[]> = [];

  /** Why it was rejected, released or cancelled. */
  @Property({ type: "text", nullable: true })
  reason: Opt<string> | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  @Property({ type: "timestamptz", onUpdate: () => new Date() })
  updatedAt: Opt<Date> = new Date();

  private constructor(orderId: string, userId: string, status: ReservationStatus) {
    this.orderId = orderId;
    this.userId = userId;
    this.status = status;
  }

  static reserved(orderId: string, userId: string, lines: ReservationLine[]): Reservation {
    const reservation = new Reservation(orderId, userId, "RESERVED");
    reservation.lines = lines;
    return reservation;
  }

  static rejected(orderId: string, userId: string, reason: string): Reservation {
    const reservation = new Reservation(orderId, userId, "REJECTED");
    reservation.reason = reason;
    return reservation;
  }

  static tombstone(orderId: string, userId: string, reason: string): Reservation {
    const reservation = new Reservation(orderId, userId, "CANCELLED");
    reservation.reason = reason;
    return reservation;
  }

  /** Payment captured: true when the held units must now leave the warehouse. */
  commit(): boolean {
    switch (this.status) {
      case "RESERVED":
        this.status = "COMMITTED";
        return true;
      case "COMMITTED": // duplicate
      case "RELEASED": // cancelled or failed first: the payment service refunds
      case "RESTOCKED":
      case "REJECTED":
      case "CANCELLED":
        return false;
      default:
        return assertNever(this.status);
    }
  }

  /** Payment failed: true when the held units must be given back. */
  release(reason: string): boolean {
    switch (this.status) {
      case "RESERVED":
        this.status = "RELEASED";
        this.reason = reason;
        return true;
      case "COMMITTED": // a capture won; a failure after it is stale
      case "RELEASED":
      case "RESTOCKED":
      case "REJECTED":
      case "CANCELLED":
        return false;
      default:
        return assertNever(this.status);
    }
  }

  /** Order cancelled (by a person or by expiry). */
  cancel(reason: string): CancelOutcome {
    switch (this.status) {
      case "RESERVED":
        this.status = "RELEASED";
        this.reason = reason;
        return "released";
      case "COMMITTED":
        this.status = "RESTOCKED";
        this.reason = reason;
        return "restocked";
      case "RELEASED":
      case "RESTOCKED":
      case "REJECTED":
      case "CANCELLED":
        return "nothing";
      default:
        return assertNever(this.status);
    }
  }

  productIds(): string[] {
    return [...new Set(this.lines.map((line) => line.productId))];
  }
}
