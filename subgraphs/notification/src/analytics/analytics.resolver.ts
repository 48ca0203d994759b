import { Arg, Ctx, Field, Float, Int, ObjectType, Query, Resolver, Root, Subscription, registerEnumType } from "type-graphql";
import { BadUserInputError, Money, requireRole, type Context, type Runtime } from "@commerce/kit";
import { OrderStatus } from "@commerce/schema";
import { orderStats, salesReport, type SalesGrouping } from "./report";

const SalesGroupingEnum = { DAY: "DAY", PRODUCT: "PRODUCT", CATEGORY: "CATEGORY" } as const satisfies { [K in SalesGrouping]: K };
registerEnumType(SalesGroupingEnum, { name: "SalesGrouping" });

const ORDER_STATUSES = OrderStatus.options;
const OrderStatusEnum = Object.fromEntries(ORDER_STATUSES.map((s) => [s, s])) as { [K in OrderStatus]: K };
registerEnumType(OrderStatusEnum, {
  name: "OrderStatus",
  description: "PENDING → STOCK_RESERVED → CONFIRMED → SHIPPED → COMPLETED; terminal failures OUT_OF_STOCK, PAYMENT_FAILED, CANCELLED.",
});

/** Longest range one report covers. */
const MAX_RANGE_DAYS = 366;

@ObjectType({ description: "Sales of one day, product or category." })
class SalesRow {
  @Field({ description: 'The day (YYYY-MM-DD, UTC), product id or category id ("none" for products without one).' })
  key: string;
  @Field()
  label: string;
  @Field(() => Int, { description: "Orders paid in the range." })
  orders: number;
  @Field(() => Int)
  units: number;
  @Field(() => Money, { description: "Money captured in the range." })
  revenue: Money;
  @Field(() => Money, { description: "Money refunded in the range (cancellations and returns)." })
  refunds: Money;
}

@ObjectType()
class StatusCount {
  @Field(() => OrderStatusEnum)
  status: OrderStatus;
  @Field(() => Int)
  count: number;
}

@ObjectType({ description: "Orders placed in a range: where they are now, and how fast they were confirmed." })
class OrderStats {
  @Field(() => [StatusCount])
  byStatus: StatusCount[];
  @Field(() => Float, { nullable: true, description: "Median milliseconds from placement to CONFIRMED; null when none was confirmed." })
  confirmP50Ms: number | null;
  @Field(() => Float, { nullable: true })
  confirmP95Ms: number | null;
}

function checkRange(from: Date, to: Date): void {
  if (!(to.getTime() > from.getTime())) throw new BadUserInputError("to must be after from.", "to");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000)
    throw new BadUserInputError(`A range covers at most ${MAX_RANGE_DAYS} days.`, "to");
}

/** Reads of the sales projection (STAFF, ADMIN); its tables are kept by the `analytics` consumer group. */
@Resolver()
export class AnalyticsResolver {
  constructor(private readonly runtime: Runtime) {}

  @Query(() => [SalesRow], { description: "Revenue, refunds, orders and units over [from, to), by day (UTC), product or category (STAFF, ADMIN)." })
  async salesReport(
    @Arg("from", () => Date) from: Date,
    @Arg("to", () => Date) to: Date,
    @Arg("groupBy", () => SalesGroupingEnum) groupBy: SalesGrouping,
    @Ctx() ctx: Context,
  ): Promise<SalesRow[]> {
    requireRole(ctx, "STAFF", "ADMIN");
    checkRange(from, to);
    const currency = this.runtime.config.walletCurrency;
    const rows = await salesReport(ctx.em, { from, to, currency }, groupBy);
    return rows.map((row) => ({ ...row, revenue: Money.of(row.revenue, currency), refunds: Money.of(row.refunds, currency) }));
  }

  @Query(() => OrderStats, { description: "Orders placed in [from, to): counts by current status, placement → CONFIRMED p50/p95 (STAFF, ADMIN)." })
  async orderStats(@Arg("from", () => Date) from: Date, @Arg("to", () => Date) to: Date, @Ctx() ctx: Context): Promise<OrderStats> {
    requireRole(ctx, "STAFF", "ADMIN");
    checkRange(from, to);
    return (await orderStats(ctx.em, { from, to }, ORDER_STATUSES)) as OrderStats;
  }
}

@ObjectType({ description: "Sales of one minute, pushed by `salesMetrics` once the minute has ended." })
class SalesMinute {
  @Field({ description: "When the minute began." })
  at: Date;
  @Field(() => Int, { description: "Orders paid in the minute." })
  orders: number;
  @Field(() => Money)
  revenue: Money;
  @Field(() => Money)
  refunds: Money;
}

/**
 * Declared here so it composes into the supergraph; the gateway serves it over graphql-ws, reading
 * each ended minute through `salesReport` with the subscriber's identity (gateway/src/subscriptions).
 */
@Resolver(() => SalesMinute)
export class SalesMetricsSubscriptionResolver {
  @Subscription(() => SalesMinute, {
    topics: "SALES_METRICS",
    description: "STAFF, ADMIN: each minute's paid orders, revenue and refunds, once it has ended; the last ended minute first.",
  })
  salesMetrics(@Root() minute: SalesMinute): SalesMinute {
    return minute;
  }
}
