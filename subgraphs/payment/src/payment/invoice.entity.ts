import { randomUUID } from "node:crypto";
import { Entity, OneToOne, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Money } from "@commerce/kit";
import { Payment } from "./payment.entity";

/** One line of an invoice as stored: what the order bought, at the price it was placed at. */
export interface InvoiceLineRow {
  productId: string;
  productName: string;
  quantity: number;
  unitPrice: { amount: number; currency: string };
}

@ObjectType({ description: "What the order bought: the product's name when ordered, at the price it was placed at." })
export class InvoiceLine {
  @Field()
  productName: string;

  @Field(() => Int)
  quantity: number;

  @Field(() => Money)
  unitPrice: Money;

  @Field(() => Money, { description: "unitPrice × quantity." })
  total: Money;

  static of(row: InvoiceLineRow): InvoiceLine {
    const line = new InvoiceLine();
    line.productName = row.productName;
    line.quantity = row.quantity;
    line.unitPrice = Money.of(row.unitPrice.amount, row.unitPrice.currency);
    line.total = Money.of(row.unitPrice.amount * row.quantity, row.unitPrice.currency);
    return line;
  }
}

/** The invoice of a captured payment; numbers run INV-000001, INV-000002, … with no gaps. */
@ObjectType()
@Entity({ tableName: "invoices" })
export class Invoice {
  @Field(() => ID)
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  // A relation (not a bare id) so the unit of work inserts the payment before its invoice.
  @OneToOne(() => Payment, { owner: true, fieldName: "payment_id", unique: true })
  payment: Payment;

  @Field(() => String)
  @Property({ type: "text", unique: true })
  number: string;

  @Property({ type: "integer" })
  amountMinor: number;

  @Property({ type: "text" })
  currency: string;

  @Field(() => Date)
  @Property({ type: "timestamptz" })
  issuedAt: Opt<Date> = new Date();

  /** Empty for an invoice issued from a reservation that did not carry its lines (before they were added to `inventory.reserved`). */
  @Property({ type: "json", fieldName: "lines" })
  lineRows: Opt<InvoiceLineRow[]> = [];

  constructor(payment: Payment, number: string, lines: InvoiceLineRow[] = []) {
    this.payment = payment;
    this.number = number;
    this.amountMinor = payment.amountMinor;
    this.currency = payment.currency;
    this.lineRows = lines;
  }

  @Field(() => [InvoiceLine], { description: "What was bought; empty on invoices issued before lines were recorded." })
  get lines(): InvoiceLine[] {
    return this.lineRows.map(InvoiceLine.of);
  }

  @Field(() => Money)
  get amount(): Money {
    return Money.of(this.amountMinor, this.currency);
  }
}

/**
 * The next invoice number, from a counter row that stays locked until the
 * transaction ends. Unlike a Postgres sequence, a rolled-back transaction gives
 * its number back, so issued numbers have no gaps (the price: captures take
 * their numbers one at a time, which is why this runs last in the transaction).
 */
export async function allocateInvoiceNumber(em: EntityManager): Promise<string> {
  const [row] = await em.execute<{ number: string }[]>(NEXT_INVOICE_NUMBER);
  return row.number;
}

/** The statement of {@link allocateInvoiceNumber}, returning `number` (INV- and at least six digits), for use in a CTE. */
export const NEXT_INVOICE_NUMBER = `update invoice_counter set last_value = last_value + 1 where name = 'invoice'
  returning 'INV-' || case when length(last_value::text) >= 6 then last_value::text else lpad(last_value::text, 6, '0') end as number`;
