import { execute, type ExecutionResult, type GraphQLError, type GraphQLSchema } from "graphql";
import { UnauthenticatedError, type Identity } from "@commerce/kit";
import type { NotificationCreated, NotificationFeed } from "./order-events";
import type { SubscriptionPlan } from "./plan";
import { QueuedSubscription, type SocketHooks } from "./queue";

/** Notifications buffered per subscription before the client is judged too slow. */
const QUEUE_CAPACITY = 64;

export interface NotificationSubscriptionEnv extends SocketHooks {
  feed: NotificationFeed;
  schema: GraphQLSchema;
  operationName: string | null | undefined;
}

/**
 * `myNotifications`: each in-app notification of the signed-in caller, as the notification service
 * writes it. The event carries every field of a Notification, so the client's selection is executed
 * on it here, without a round trip to the subgraph; only the owner's own notifications are listened to.
 */
export class NotificationSubscription extends QueuedSubscription<NotificationCreated> {
  constructor(
    readonly plan: SubscriptionPlan,
    private readonly identity: Identity,
    private readonly env: NotificationSubscriptionEnv,
  ) {
    super(QUEUE_CAPACITY, env);
  }

  async open(): Promise<readonly GraphQLError[] | null> {
    if (this.identity.kind !== "user") {
      this.close();
      return [new UnauthenticatedError()];
    }
    this.unlisten = this.env.feed.onKey(this.identity.userId, (event) => this.enqueue(event));
    return null;
  }

  protected async *events(): AsyncGenerator<ExecutionResult> {
    try {
      for (;;) {
        const event = await this.queue.next();
        if (!event || this.closed) return;
        if (this.env.backlogged()) return this.env.tooSlow();
        const { notificationId, userId: _owner, orderId: _order, ...fields } = event.payload;
        yield (await execute({
          schema: this.env.schema,
          document: this.plan.document,
          rootValue: { myNotifications: { id: notificationId, ...fields } },
          variableValues: this.plan.variables,
          operationName: this.env.operationName,
        })) as ExecutionResult;
      }
    } finally {
      this.close();
    }
  }
}
