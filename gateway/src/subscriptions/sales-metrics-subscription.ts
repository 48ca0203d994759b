import { execute, GraphQLError, type ExecutionResult, type GraphQLSchema } from "graphql";
import { ForbiddenError, UnauthenticatedError, type Identity } from "@commerce/kit";
import type { SubscriptionPlan } from "./plan";
import { QueuedSubscription, type SocketHooks } from "./queue";
import type { RunQuery } from "./server";

/** Periods waiting to be summed before the client is judged too slow. */
const QUEUE_CAPACITY = 8;
/** How long after a period ends its figures are read: the projection trails the saga by milliseconds. */
const SETTLE_MS = 2_000;

const REPORT = `query SalesMetrics($from: DateTime!, $to: DateTime!) {
  salesReport(from: $from, to: $to, groupBy: DAY) { orders revenue { amount currency } refunds { amount currency } }
}`;

interface ReportRow {
  orders: number;
  revenue: { amount: number; currency: string };
  refunds: { amount: number; currency: string };
}

export interface SalesMetricsEnv extends SocketHooks {
  schema: GraphQLSchema;
  operationName: string | null | undefined;
  run: RunQuery;
  intervalMs: number;
  currency: string;
  /** The subscriber with the role the subgraphs apply to them now. */
  currentRole: (identity: Identity) => Promise<Identity>;
}

/**
 * `salesMetrics` (STAFF, ADMIN): the figures of each period (a minute) once it has ended, read from
 * the sales projection through `salesReport` with the subscriber's identity, so the subgraph's role
 * check applies at every push; the last ended period is sent at once.
 */
export class SalesMetricsSubscription extends QueuedSubscription<number> {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly plan: SubscriptionPlan,
    private readonly identity: Identity,
    private readonly env: SalesMetricsEnv,
  ) {
    super(QUEUE_CAPACITY, env);
  }

  async open(): Promise<readonly GraphQLError[] | null> {
    if (this.identity.kind !== "user") {
      this.close();
      return [new UnauthenticatedError()];
    }
    const now = await this.env.currentRole(this.identity);
    if (now.kind !== "user" || (now.role !== "STAFF" && now.role !== "ADMIN")) {
      this.close();
      return [new ForbiddenError("Only STAFF and ADMIN may watch sales.")];
    }
    const interval = this.env.intervalMs;
    // The next period to send: the last one ended (and settled) first, then each one in turn, none skipped
    // however late a timer fires.
    let next = Math.floor((Date.now() - SETTLE_MS) / interval) * interval - interval;
    const sendEnded = () => {
      while (next + interval + SETTLE_MS <= Date.now()) {
        this.enqueue(next);
        next += interval;
      }
      this.timer = setTimeout(sendEnded, next + interval + SETTLE_MS - Date.now());
      this.timer.unref();
    };
    sendEnded();
    this.unlisten = () => {
      if (this.timer) clearTimeout(this.timer);
    };
    return null;
  }

  protected async *events(): AsyncGenerator<ExecutionResult> {
    try {
      for (;;) {
        const start = await this.queue.next();
        if (start === undefined || start === null || this.closed) return;
        if (this.env.backlogged()) return this.env.tooSlow();
        const from = new Date(start);
        const to = new Date(start + this.env.intervalMs);
        const result = await this.env.run(REPORT, { from: from.toISOString(), to: to.toISOString() }, this.identity);
        if (result.errors?.length || !result.data) {
          yield { errors: (result.errors ?? [new GraphQLError("The sales report could not be read.")]) as unknown as GraphQLError[] };
          return;
        }
        const rows = (result.data as { salesReport: ReportRow[] }).salesReport;
        const currency = rows[0]?.revenue.currency ?? this.env.currency;
        const sum = (pick: (row: ReportRow) => number) => rows.reduce((total, row) => total + pick(row), 0);
        const minute = {
          at: from,
          orders: sum((row) => row.orders),
          revenue: { amount: sum((row) => row.revenue.amount), currency },
          refunds: { amount: sum((row) => row.refunds.amount), currency },
        };
        yield (await execute({
          schema: this.env.schema,
          document: this.plan.document,
          rootValue: { salesMetrics: minute },
          variableValues: this.plan.variables,
          operationName: this.env.operationName,
        })) as ExecutionResult;
      }
    } finally {
      this.close();
    }
  }
}
