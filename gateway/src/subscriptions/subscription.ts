import { randomUUID } from "node:crypto";
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";
import { NotFoundError, isStaff, upToStatus, type Identity } from "@commerce/kit";
import type { OrderEventFeed, StatusChange } from "./order-events";
import { HIDDEN_HISTORY, HIDDEN_STATUS, ORDER_ID_VARIABLE, type SubscriptionPlan } from "./plan";
import { QueuedSubscription, type SocketHooks } from "./queue";
import { ownScope, type Scope } from "./scope";
import { StatusCursor, TERMINAL_STATUSES, type StatusPoint } from "./status-cursor";

/** The statuses that carry a `failureReason`. */
const FAILED_STATUSES: ReadonlySet<string> = new Set(["OUT_OF_STOCK", "PAYMENT_FAILED"]);

/** Status changes buffered per subscription before the client is judged too slow. */
const QUEUE_CAPACITY = 64;

/** What the supergraph answers for one query (already through the gateway's `formatError`). */
export interface QueryResult {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

/**
 * Runs a query through the supergraph as `identity`. Calls with the same
 * `shareKey` may share one execution (several subscribers of one change in
 * one authorization scope); null means "do not share".
 */
export type SharedRun = (
  shareKey: string | null,
  scope: Scope,
  query: string,
  variables: Record<string, unknown>,
  identity: Identity,
) => Promise<QueryResult>;

export interface SubscriptionEnv extends SocketHooks {
  feed: OrderEventFeed;
  run: SharedRun;
  /** The scope `identity` reads an order of `ownerId` in (scope.ts). */
  scopeOf(identity: Identity, ownerId: string): Promise<Scope>;
  logger: Logger;
}

type OrderData = Record<string, unknown> & { [HIDDEN_STATUS]?: string; [HIDDEN_HISTORY]?: StatusPoint[] };

/**
 * One client subscription: listens to the order feed, and turns each status
 * change into the client's selection resolved through the supergraph, in
 * order, each change once. `orderStatusChanged` starts with the order's
 * current state and completes after a terminal status; `myOrderUpdates`
 * streams every change of the caller's orders (all orders for STAFF/ADMIN).
 */
export class OrderSubscription extends QueuedSubscription<StatusChange> {
  private initial: QueryResult | null = null;
  private cursor = new StatusCursor();

  constructor(
    readonly plan: SubscriptionPlan,
    private readonly identity: Identity,
    private readonly env: SubscriptionEnv,
  ) {
    super(QUEUE_CAPACITY, env);
  }

  /**
   * Starts listening, then reads the current state (orderStatusChanged), in
   * that order so no change can fall between the two. Returns the errors to
   * send instead of a stream (unknown order, not allowed), or null.
   */
  async open(): Promise<readonly GraphQLError[] | null> {
    const { plan, env } = this;
    if (plan.field === "myOrderUpdates") {
      this.unlisten = env.feed.onAny((event) => {
        if (this.maySee(event)) this.enqueue(event);
      });
      return null;
    }
    const orderId = plan.orderId as string;
    this.unlisten = env.feed.onOrder(orderId, (event) => this.enqueue(event));
    // Subscribers who listened at the same feed position may share one read of the current state.
    const scope = ownScope(this.identity);
    const shareKey = `initial|${env.feed.position}|${scope.key}|${plan.key}`;
    const result = await this.execute(shareKey, scope, plan.variables);
    const order = orderOf(result, plan);
    if (!order) {
      this.close();
      return result.errors?.length ? toErrors(result.errors) : [new NotFoundError("Order", orderId)];
    }
    this.initial = result;
    // What the first message will show: the history up to the order's status (see `shape`), even if the
    // read saw a later entry (an order subgraph that reads the row and its history apart). Taking that
    // entry for sent would skip its change for good.
    this.cursor = new StatusCursor(upToStatus(order[HIDDEN_HISTORY] ?? [], order[HIDDEN_STATUS]));
    return null;
  }

  protected async *events(): AsyncGenerator<ExecutionResult> {
    const { plan } = this;
    try {
      if (this.initial) {
        const order = orderOf(this.initial, plan) as OrderData;
        yield this.shape(this.initial, order, order[HIDDEN_STATUS]);
        if (TERMINAL_STATUSES.has(order[HIDDEN_STATUS] ?? "")) return;
      }
      for (;;) {
        const event = await this.queue.next();
        if (!event || this.closed) return;
        if (plan.field === "orderStatusChanged" && !this.cursor.accept(event.payload)) continue;
        const variables = plan.field === "myOrderUpdates" ? { ...plan.variables, [ORDER_ID_VARIABLE]: event.payload.orderId } : plan.variables;
        const scope = await this.scopeOf(event);
        if (this.closed) return;
        const shareKey = `${event.id}|${scope.key}|${plan.key}|${event.payload.orderId}`;
        const result = await this.execute(shareKey, scope, variables);
        if (this.closed) return;
        if (this.env.backlogged()) return this.env.tooSlow();
        const order = orderOf(result, plan);
        yield order ? this.shape(result, order, event.payload.status) : { data: null, errors: toErrors(result.errors ?? []) };
        if (plan.field === "orderStatusChanged" && TERMINAL_STATUSES.has(event.payload.status)) return;
      }
    } finally {
      this.close();
    }
  }

  private maySee(event: StatusChange): boolean {
    return isStaff(this.identity) || (this.identity.kind === "user" && this.identity.userId === event.payload.userId);
  }

  /** Never throws: a failed lookup makes the subscriber a scope of its own. */
  private async scopeOf(event: StatusChange): Promise<Scope> {
    try {
      return await this.env.scopeOf(this.identity, event.payload.userId);
    } catch (error) {
      this.env.logger.warn({ err: error, eventId: event.id }, "subscription scope lookup failed; resolving alone");
      return ownScope(this.identity);
    }
  }

  /** Never throws: a failure reaches the client as a masked error with a reference to the log line. */
  private async execute(shareKey: string | null, scope: Scope, variables: Record<string, unknown>): Promise<QueryResult> {
    try {
      return await this.env.run(shareKey, scope, this.plan.query, variables, this.identity);
    } catch (error) {
      const errorId = randomUUID();
      this.env.logger.error({ err: error, errorId, field: this.plan.field }, "subscription query failed");
      return { errors: [{ message: `Internal server error (reference ${errorId}).`, extensions: { code: "INTERNAL_SERVER_ERROR", errorId } }] };
    }
  }

  /**
   * The client's view: the hidden fields removed; `status`, `statusHistory` and `failureReason` as of this change. The
   * read may already see a later one (STOCK_RESERVED read after PAYMENT_FAILED was written), so the
   * history is cut after this change: a message's last history entry is always its own status.
   * Fields of other subgraphs (`payment { status }`) are as they are when the message is built.
   */
  private shape(result: QueryResult, order: OrderData, status?: string): ExecutionResult {
    const { [HIDDEN_STATUS]: _status, [HIDDEN_HISTORY]: history, ...visible } = order;
    if (status) {
      for (const key of this.plan.statusKeys) visible[key] = status;
      // The order service sets failureReason when, and only when, the order fails (API.md).
      if (!FAILED_STATUSES.has(status)) for (const key of this.plan.failureReasonKeys) visible[key] = null;
      if (history) {
        const upTo = upToStatus(history, status).length;
        for (const key of this.plan.historyKeys) {
          const entries = visible[key];
          if (Array.isArray(entries) && entries.length === history.length) visible[key] = entries.slice(0, upTo);
        }
      }
    }
    const errors = result.errors?.length ? toErrors(result.errors) : undefined;
    return errors ? { data: { [this.plan.responseKey]: visible }, errors } : { data: { [this.plan.responseKey]: visible } };
  }
}

function orderOf(result: QueryResult, plan: SubscriptionPlan): OrderData | null {
  return ((result.data ?? undefined)?.[plan.responseKey] as OrderData | null | undefined) ?? null;
}

/** graphql-ws sends only GraphQLError instances; these are already formatted (masked) by the gateway. */
export function toErrors(errors: readonly GraphQLFormattedError[]): GraphQLError[] {
  return errors.map((error) => new GraphQLError(error.message, { path: error.path, extensions: error.extensions }));
}
