import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventPayload, ParsedEvent } from "@commerce/schema";
import { startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { event, eventually, publish, streamEvents } from "@commerce/testing/events";
import { paymentSubgraph } from "../module";
import type { PaymentSettings } from "../settings";
import { Wallet } from "../wallet/wallet.entity";

let payment: TestSubgraph<PaymentSettings>;
const usd = (amount: number) => ({ amount, currency: "USD" });

beforeAll(async () => {
  payment = await startTestSubgraph(paymentSubgraph, { WALLET_OPENING_BALANCE: "100000" });
});
afterAll(() => payment?.stop());

const em = (): EntityManager => payment.runtime.orm.em.fork() as EntityManager;
const send = (envelope: ParsedEvent) => publish(payment.runtime.redis, payment.streamPrefix, envelope);
const balanceOf = async (userId: string) => (await em().findOneOrFail(Wallet, { userId })).balanceAmount;
const refundsOf = async (orderId: string) =>
  (await streamEvents(payment.runtime.redis, payment.streamPrefix, "payment"))
    .filter((e) => e.type === "payment.return_refunded")
    .map((e) => e.payload as EventPayload<"payment.return_refunded">)
    .filter((refund) => refund.orderId === orderId);

function received(orderId: string, userId: string, returnId: string, asked: number) {
  return event(
    "return.received",
    {
      returnId,
      orderId,
      userId,
      warehouseId: randomUUID(),
      lines: [{ productId: randomUUID(), quantity: 1, unitPrice: usd(asked) }],
      refund: usd(asked),
    },
    orderId,
  );
}

async function processed(envelope: ParsedEvent): Promise<void> {
  await eventually(
    async () => (await em().execute(`select 1 from processed_event where event_id = ?`, [envelope.id])).length > 0,
    `${envelope.type} to be processed`,
  );
}

test("returns refund their price once each, and never more than the order's capture in all", async () => {
  const userId = randomUUID();
  const orderId = randomUUID();
  const reserved = event("inventory.reserved", { orderId, userId, total: usd(3_000), items: [{ productId: "p1", quantity: 3 }] }, orderId);
  await send(reserved);
  await processed(reserved);
  expect(await balanceOf(userId)).toBe(97_000);

  const first = randomUUID();
  await send(received(orderId, userId, first, 2_000));
  // The same return again, in a new envelope (a replayed dead letter, a second producer): no second refund.
  const repeat = received(orderId, userId, first, 2_000);
  await send(repeat);
  await processed(repeat);
  const second = received(orderId, userId, randomUUID(), 2_000);
  await send(second);
  await processed(second);

  // Processed means committed, not yet published: wait for the relay to publish both refunds.
  const refunds = await eventually(async () => {
    const found = await refundsOf(orderId);
    return found.length >= 2 && found;
  }, "two payment.return_refunded");
  expect(refunds.map((refund) => [refund.returnId, refund.amount.amount])).toEqual([
    [first, 2_000],
    [(second.payload as EventPayload<"return.received">).returnId, 1_000],
  ]);
  expect(await balanceOf(userId)).toBe(100_000);
  const ledger = await em().execute<{ kind: string; amount: string }[]>(
    `select kind, amount from wallet_entries where order_id = ? order by created_at`,
    [orderId],
  );
  expect(ledger.map((row) => [row.kind, Number(row.amount)])).toEqual([
    ["CAPTURE", -3_000],
    ["REFUND", 2_000],
    ["REFUND", 1_000],
  ]);
});

test("a return of an order that was never captured settles at 0, so it still reaches REFUNDED", async () => {
  const orderId = randomUUID();
  const returnId = randomUUID();
  const userId = randomUUID();
  await send(received(orderId, userId, returnId, 500));
  const [refund] = await eventually(async () => {
    const found = await refundsOf(orderId);
    return found.length > 0 && found;
  }, "payment.return_refunded");
  expect(refund).toEqual({ returnId, orderId, userId, paymentId: null, amount: usd(0) });
});
