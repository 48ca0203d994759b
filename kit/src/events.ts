import { isEventType, type EventOf, type EventType } from "@commerce/schema";
import type { Handler, HandlerContext, Handlers } from "@commerce/streams";

/** What a saga handler gets besides its event: the transaction's EntityManager, the outbox, a logger, the service's settings. */
export interface EventContext<Settings = unknown> extends HandlerContext {
  settings: Settings;
}

/** Applies one event of type `T` (its type selects its payload's type). Throwing rolls back and retries. */
export type EventHandler<T extends EventType, Settings = unknown> = (event: EventOf<T>, ctx: EventContext<Settings>) => Promise<void>;

/** One handler per event type a service reacts to; events of other types are acknowledged and skipped. */
export type EventHandlers<Settings = unknown> = { [T in EventType]?: EventHandler<T, Settings> };

/** The handler of `type`, called with `settings`, as the stream consumer calls it. */
function bind<T extends EventType, Settings>(handlers: EventHandlers<Settings>, type: T, settings: Settings): Handler<EventOf<T>> | undefined {
  const handler = handlers[type];
  return handler && ((event, ctx) => handler(event, { ...ctx, settings }));
}

/** The stream consumer's handler map: each handler of `handlers` called with `settings`. */
export function bindHandlers<Settings>(handlers: EventHandlers<Settings>, settings: Settings): Handlers {
  const bound: Handlers = {};
  for (const type of Object.keys(handlers)) {
    if (isEventType(type)) bound[type] = bind(handlers, type, settings);
  }
  return bound;
}

/** Applies `event` with its type's handler; false when the service has none for it. */
export async function applyEvent<T extends EventType>(handlers: Handlers, type: T, event: EventOf<T>, ctx: HandlerContext): Promise<boolean> {
  const handler = handlers[type];
  if (!handler) return false;
  await handler(event, ctx);
  return true;
}
