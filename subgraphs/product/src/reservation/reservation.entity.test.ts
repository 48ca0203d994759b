import { Reservation } from "./reservation.entity";

const lines = [{ productId: "p", warehouseId: "w", quantity: 1 }];

describe("Reservation state machine", () => {
  it("commits a held reservation once", () => {
    const reservation = Reservation.reserved("o", "u", lines);
    expect(reservation.commit()).toBe(true);
    expect(reservation.status).toBe("COMMITTED");
    expect(reservation.commit()).toBe(false);
    expect(reservation.release("late failure")).toBe(false);
  });

  it("ignores a capture after a cancellation released the stock", () => {
    const reservation = Reservation.reserved("o", "u", lines);
    expect(reservation.cancel("customer")).toBe("released");
    expect(reservation.commit()).toBe(false);
    expect(reservation.status).toBe("RELEASED");
  });

  it("restocks a paid order that is cancelled, once", () => {
    const reservation = Reservation.reserved("o", "u", lines);
    reservation.commit();
    expect(reservation.cancel("customer")).toBe("restocked");
    expect(reservation.cancel("again")).toBe("nothing");
    expect(reservation.status).toBe("RESTOCKED");
  });

  it("never moves a rejection or a tombstone", () => {
    for (const reservation of [Reservation.rejected("o", "u", "no stock"), Reservation.tombstone("o", "u", "cancelled")]) {
      const status = reservation.status;
      expect(reservation.commit()).toBe(false);
      expect(reservation.release("x")).toBe(false);
      expect(reservation.cancel("x")).toBe("nothing");
      expect(reservation.status).toBe(status);
    }
  });
});
