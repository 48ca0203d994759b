import { captureSpans } from "@commerce/kit";
import { SpanKind } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { clientIp, post, startBench, type Bench } from "./testing/harness";
import { eventually } from "@commerce/testing";
// Before anything starts: every service of this process records here.
const exporter = captureSpans();

describe("gateway tracing and request ids", () => {
  let bench: Bench;
  let url: string;

  beforeAll(async () => {
    bench = await startBench();
    url = (await bench.gateway()).url;
  });
  afterAll(async () => {
    await bench?.stop();
  });

  it("puts the subgraph's operation in the gateway operation's trace, and links (never continues) a client's traceparent", async () => {
    const clientTrace = "0af7651916cd43dd8448eb211c80319c";
    const response = await post(
      url,
      { query: "query Me { me { id } }" },
      {
        "x-forwarded-for": clientIp(),
        "x-request-id": "client-request-0001",
        traceparent: `00-${clientTrace}-b7ad6b7169203331-01`,
      },
    );
    expect(response.body).toEqual({ data: { me: null } });
    expect(response.headers.get("x-request-id")).toBe("client-request-0001");
    const traceId = response.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(clientTrace);

    const service = (s: ReadableSpan) => s.resource.attributes["service.name"];
    const subgraph = await eventually("the user subgraph's span", () =>
      exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && service(s) === "user" && s.kind === SpanKind.SERVER),
    );
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const operation = spans.find((s) => service(s) === "gateway" && s.kind === SpanKind.SERVER)!;
    expect(operation.name).toBe("graphql query Me");
    expect(operation.parentSpanId).toBeUndefined();
    expect(operation.links.map((link) => link.context.traceId)).toEqual([clientTrace]);
    expect(subgraph.name).toBe("graphql query Me__user__0");
    // The subgraph's span hangs under the gateway's operation (through Apollo's own fetch span).
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const ancestors: string[] = [];
    for (let span = byId.get(subgraph.parentSpanId!); span; span = byId.get(span.parentSpanId!)) ancestors.push(span.spanContext().spanId);
    expect(ancestors).toContain(operation.spanContext().spanId);
  });

  it("replaces a client request id that is not a plain id (it goes into every log line)", async () => {
    const response = await post(url, { query: "{ __typename }" }, { "x-forwarded-for": clientIp(), "x-request-id": 'bad id {"level":60}' });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
