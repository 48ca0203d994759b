import { randomUUID } from "node:crypto";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { SpanKind } from "@opentelemetry/api";
import { Arg, Mutation, Query, Resolver, Ctx } from "type-graphql";
import { createEvent, streamKey } from "@commerce/streams";
import { randomStreamPrefix, eventually } from "@commerce/testing";
import { orderPlaced } from "@commerce/testing/events";
import { startTestSubgraph, type TestSubgraph } from "@commerce/testing/subgraph";
import { signIdentityHeaders } from "./auth";
import type { Context } from "./context";
import type { Runtime, SubgraphModule } from "./server";
import { captureSpans } from "./tracing";

/**
 * Two small subgraphs in this process, on one stream prefix, play a saga step by step:
 * "order" places (a request) → `order.placed` → "product" reserves (a handler that emits)
 * → `inventory.reserved` → "order" handles it. One trace must cover all of it.
 */
const exporter = captureSpans();

@Resolver()
class PlaceResolver {
  constructor(private readonly runtime: Runtime) {}

  @Query(() => String)
  hello(): string {
    return "hello";
  }

  @Mutation(() => Boolean)
  async place(@Arg("orderId") orderId: string, @Ctx() ctx: Context): Promise<boolean> {
    await this.runtime.commit(ctx.em, async (_tx, emit) => {
      emit(orderPlaced(orderId, 500));
    });
    return true;
  }
}

@Resolver()
class ProductResolver {
  @Query(() => String)
  ping(): string {
    return "pong";
  }
}

const handledByOrder: string[] = [];

const orderModule: SubgraphModule = {
  name: "order",
  entities: [],
  migrations: [],
  resolvers: [PlaceResolver],
  consumes: {
    streams: ["product"],
    handlers: {
      "inventory.reserved": async (event) => void handledByOrder.push(event.correlationId),
    },
  },
};

const productModule: SubgraphModule = {
  name: "product",
  entities: [],
  migrations: [],
  resolvers: [ProductResolver],
  consumes: {
    streams: ["order"],
    handlers: {
      "order.placed": async (event, ctx) => {
        if (event.type !== "order.placed") return;
        ctx.logger.info("reserving stock");
        ctx.emit(
          createEvent(
            "inventory.reserved",
            { orderId: event.payload.orderId, userId: event.payload.userId, total: event.payload.total, items: [{ productId: "p-1", quantity: 1 }] },
            { correlationId: event.correlationId, causation: event },
          ),
        );
      },
    },
  },
};

/** Samples of one metric in a Prometheus text exposition, by their label set. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...(match[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { labels, value: Number(match[2]) };
    });
}

const value = (text: string, name: string, labels: Record<string, string> = {}) =>
  samples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("observability across a request and the streams", () => {
  let order: TestSubgraph<unknown>;
  let product: TestSubgraph<unknown>;

  beforeAll(async () => {
    const env = { STREAM_PREFIX: randomStreamPrefix("obs") };
    [order, product] = await Promise.all([startTestSubgraph(orderModule, env), startTestSubgraph(productModule, env)]);
  });
  afterAll(async () => {
    await Promise.all([order?.stop(), product?.stop()]);
  });

  it("traces placeOrder → order.placed → the product handler → inventory.reserved → the order handler as one trace", async () => {
    const orderId = randomUUID();
    const result = await order.gql(`mutation Place($id: String!) { place(orderId: $id) }`, { id: orderId });
    expect(result.errors).toBeUndefined();
    await eventually("the order subgraph handling inventory.reserved", () => handledByOrder.includes(orderId));
    // The handling span ends after its transaction commits, a moment after the handler ran.
    const spans = await eventually("the last handling span", () => {
      const finished = exporter.getFinishedSpans();
      return finished.some((s) => s.name === "process inventory.reserved" && s.attributes["messaging.message.conversation_id"] === orderId)
        ? finished
        : undefined;
    });
    const request = spans.find((s) => s.kind === SpanKind.SERVER && s.name === "graphql mutation Place");
    expect(request).toBeDefined();
    const trace = spans.filter((s) => s.spanContext().traceId === request!.spanContext().traceId);
    const one = (name: string, service: string): ReadableSpan => {
      const found = trace.filter((s) => s.name === name && s.resource.attributes["service.name"] === service);
      expect({ name, service, count: found.length }).toEqual({ name, service, count: 1 });
      return found[0]!;
    };
    const parentOf = (span: ReadableSpan) => span.parentSpanId;

    const insertPlaced = one("outbox insert", "order");
    const publishPlaced = one("publish order.placed", "order");
    const handlePlaced = one("process order.placed", "product");
    const publishReserved = one("publish inventory.reserved", "product");
    const handleReserved = one("process inventory.reserved", "order");
    const insertReserved = trace.find((s) => s.name === "outbox insert" && parentOf(s) === handlePlaced.spanContext().spanId);

    expect(request!.resource.attributes["service.name"]).toBe("order");
    expect(request!.parentSpanId).toBeUndefined(); // nothing upstream in this test: the request starts the trace
    expect(parentOf(insertPlaced)).toBe(request!.spanContext().spanId);
    expect(parentOf(publishPlaced)).toBe(request!.spanContext().spanId);
    // The consumer continues from the envelope's traceparent: the span of the request that created the event.
    expect(parentOf(handlePlaced)).toBe(request!.spanContext().spanId);
    expect(handlePlaced.kind).toBe(SpanKind.CONSUMER);
    expect(handlePlaced.attributes["messaging.message.conversation_id"]).toBe(orderId);
    expect(insertReserved).toBeDefined();
    // What the handler emitted carries the handler's span: the next service continues under it.
    expect(parentOf(publishReserved)).toBe(handlePlaced.spanContext().spanId);
    expect(parentOf(handleReserved)).toBe(handlePlaced.spanContext().spanId);
    // Causality is also time order within the trace.
    expect(handleReserved.startTime[0] * 1e9 + handleReserved.startTime[1]).toBeGreaterThanOrEqual(
      handlePlaced.startTime[0] * 1e9 + handlePlaced.startTime[1],
    );
  });

  it("continues a caller's trace from its traceparent header and answers with the trace id", async () => {
    const PING = JSON.stringify({ query: "query Ping { ping }" });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(product.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        ...signIdentityHeaders(null, "test-internal-secret-0123456789", { audience: "product", body: PING }, "req-from-gateway"),
      },
      body: PING,
    });
    expect(await response.json()).toEqual({ data: { ping: "pong" } });
    expect(response.headers.get("x-trace-id")).toBe(traceId);
    const span = await eventually("the subgraph's span", () => exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId));
    expect(span.name).toBe("graphql query Ping");
    expect(span.parentSpanId).toBe("00f067aa0ba902b7");
  });

  it("exposes the consumer, dead letters and relay on /metrics with the values the stream shows", async () => {
    // A malformed entry goes straight to the dead-letter stream.
    await product.runtime.redis.xadd(streamKey(product.streamPrefix, "order"), "*", "id", "x", "type", "order.placed", "envelope", "{not json");
    const scrape = async () => (await fetch(`http://127.0.0.1:${product.port}/metrics`)).text();
    const text = await eventually("the dead letter to show", async () => {
      const body = await scrape();
      // The counter moves just after the dead-letter MULTI returns: wait for both.
      const settled = value(body, "stream_dead_letters") === 1 && value(body, "stream_consumer_dead_lettered_total") === 1;
      return settled && value(body, "outbox_relay_leader") === 1 ? body : undefined;
    });
    expect(value(text, "stream_consumer_processed_total", { service: "product" })).toBeGreaterThanOrEqual(1);
    expect(value(text, "stream_consumer_failed_total")).toBe(0);
    expect(value(text, "stream_consumer_lag", { stream: "order", group: "product" })).toBe(0);
    expect(value(text, "stream_pending", { stream: "order", group: "product" })).toBe(0);
    expect(value(text, "stream_handler_duration_seconds_count", { type: "order.placed" })).toBeGreaterThanOrEqual(1);
    expect(value(text, "outbox_published_total")).toBeGreaterThanOrEqual(1);
    // The order side consumed one stream and produced none of the dead letters.
    const orderText = await (await fetch(`http://127.0.0.1:${order.port}/metrics`)).text();
    expect(value(orderText, "stream_dead_letters")).toBe(0);
    expect(value(orderText, "stream_pending", { stream: "product", group: "order" })).toBe(0);
  });
});
