import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { parseConfig } from '../src/config';
import { encodeEvent } from '../src/nats/nest-transport';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { traceHeadersOption } from '../src/nats/trace-headers';
import { tracingWorkerOptions } from '../src/temporal/tracing-interceptors';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../src/worker/workflow-code';
import type { OrderWithItems } from '../src/orders/types';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * One order's spans, collected in memory from every part of the system (one process, one tracer
 * provider): the NATS request, the gateway, the workflow, its activities, the products and
 * payments handlers, and the payment.succeeded event back, all in one trace.
 */

describe('tracing settings', () => {
  it('is off by default, and on with TRACING_ENABLED or an OTLP endpoint', () => {
    expect(parseConfig({}).tracing).toEqual({ enabled: false, otlpTracesUrl: undefined, serviceName: undefined });
    expect(parseConfig({ TRACING_ENABLED: 'true' }).tracing.enabled).toBe(true);
    expect(
      parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'orders-a' }).tracing,
    ).toEqual({
      enabled: true,
      otlpTracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'orders-a',
    });
    expect(
      parseConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/traces' }).tracing.otlpTracesUrl,
    ).toBe('http://collector:4318/traces');
  });
});

describe('turning tracing on for orders in flight', () => {
  // Orders started without tracing are replayed by a worker that has it on: the interceptor must not
  // change what they do. The reference histories of test/replay.test.ts, replayed with it.
  const historiesDir = path.join(__dirname, 'histories');
  const files = readdirSync(historiesDir, { recursive: true, encoding: 'utf8' }).filter((file) =>
    file.endsWith('.json'),
  );
  const tracing = {
    resource: new Resource({ 'service.name': 'replay' }),
    spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()),
    shutdown: async () => undefined,
  };

  // One replay worker (one bundle) for all of them.
  it('replays every reference history with the tracing workflow interceptor', async () => {
    expect(files.length).toBeGreaterThan(10);
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'))),
    }));
    const { interceptors, sinks } = tracingWorkerOptions(tracing);
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      {
        workflowsPath: WORKFLOWS_PATH,
        bundlerOptions: WORKFLOW_BUNDLER_OPTIONS,
        interceptors: { workflowModules: interceptors?.workflowModules },
        sinks,
      },
      histories,
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect({ replayed, failures }).toEqual({ replayed: files.length, failures: [] });
  });
});

describe('one order traced across the system', () => {
  const exporter = new InMemorySpanExporter();
  let system: TestSystem;

  beforeAll(async () => {
    system = await startTestSystem(
      { TRACING_ENABLED: 'true', ORDER_LATE_PAYMENT_GRACE_MS: '200' },
      { spanProcessor: new SimpleSpanProcessor(exporter) },
    );
  });

  afterAll(async () => {
    await system?.stop();
  });

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string, traceId: string): ReadableSpan => {
    const found = spans().filter((span) => span.name === name && span.spanContext().traceId === traceId);
    if (found.length === 0)
      throw new Error(
        `no span ${name} in trace ${traceId}; have ${spans()
          .map((span) => span.name)
          .join(', ')}`,
      );
    return found[0] as ReadableSpan;
  };
  /** The names of a span's ancestors, nearest first, as far as they were collected. */
  const ancestors = (span: ReadableSpan): string[] => {
    const byId = new Map(spans().map((each) => [each.spanContext().spanId, each]));
    const names: string[] = [];
    for (
      let parent = byId.get(span.parentSpanId ?? '');
      parent !== undefined;
      parent = byId.get(parent.parentSpanId ?? '')
    ) {
      names.push(parent.name);
    }
    return names;
  };

  it('joins the request, workflow, activities, peers and the payment in one trace', async () => {
    const product = await system.nest.send<{ id: number }>('products.create', { name: 'Traced teapot', price: 12 });
    const { order } = await system.client.place([{ productId: product.id, quantity: 2 }]);

    // The gateway's handling of the NestJS request is the trace's root (the Nest client sends no context).
    const root = await eventually(async () => {
      const found = spans().find(
        (span) =>
          span.name === 'orders.create process' && ancestors(span).length === 0 && span.kind === SpanKind.SERVER,
      );
      if (found === undefined) throw new Error('no orders.create span yet');
      return found;
    });
    const traceId = root.spanContext().traceId;

    // The payments service publishes payment.succeeded with the trace context it has (here: the order's).
    const js = system.nats.jetstream();
    await context.with(trace.setSpanContext(context.active(), root.spanContext()), () =>
      js.publish(
        PAYMENT_SUCCEEDED_SUBJECT,
        encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, paymentEvent(order.id)),
        traceHeadersOption(),
      ),
    );
    await system.client.waitForStatus(order.id, 'PAID');
    // Delivered, the workflow ends after its (short) late-payment grace, and its RunWorkflow span with it.
    await system.client.changeStatus(order.id, 'DELIVERED');
    await system.temporal.workflow.getHandle(`order-${order.id}`).result();

    await eventually(async () => {
      // Placement: gateway -> Update-with-Start -> workflow -> local activities -> products and payments over NATS.
      expect(ancestors(named('UpdateWithStartWorkflow:placeOrder', traceId))).toEqual(['orders.create process']);
      expect(ancestors(named('RunWorkflow:OrderWorkflow', traceId))[0]).toBe('UpdateWithStartWorkflow:placeOrder');
      expect(ancestors(named('HandleUpdate:placeOrder', traceId))[0]).toBe('UpdateWithStartWorkflow:placeOrder');
      expect(ancestors(named('RunActivity:placeOrder', traceId)).slice(0, 2)).toEqual([
        'StartActivity:placeOrder',
        'RunWorkflow:OrderWorkflow',
      ]);
      expect(ancestors(named('validate_products process', traceId)).slice(0, 3)).toEqual([
        'validate_products send',
        'RunActivity:placeOrder',
        'StartActivity:placeOrder',
      ]);
      expect(ancestors(named('create.payment.session process', traceId)).slice(0, 3)).toEqual([
        'create.payment.session send',
        'RunActivity:openCheckout',
        'StartActivity:openCheckout',
      ]);
      // Payment: the JetStream consumer continues the publisher's trace and signals the workflow in it.
      const consumed = named('payment.succeeded process', traceId);
      expect(consumed.kind).toBe(SpanKind.CONSUMER);
      expect(consumed.parentSpanId).toBe(root.spanContext().spanId);
      expect(ancestors(named('SignalWorkflow:paymentSucceeded', traceId))[0]).toBe('payment.succeeded process');
      expect(ancestors(named('HandleSignal:paymentSucceeded', traceId))[0]).toBe('SignalWorkflow:paymentSucceeded');
      // The workflow's main loop applies the payment it took from its inbox.
      expect(ancestors(named('RunActivity:acceptPayment', traceId))).toContain('RunWorkflow:OrderWorkflow');
      // One tree: every span of the trace leads back to the request.
      for (const span of spans().filter((each) => each.spanContext().traceId === traceId && each !== root)) {
        expect({ span: span.name, root: ancestors(span).at(-1) }).toEqual({
          span: span.name,
          root: 'orders.create process',
        });
      }
    });

    // The order's replies are unchanged by tracing.
    expect((await system.nest.send<OrderWithItems>('orders.find.one', { id: order.id })).status).toBe('DELIVERED');
  });

  it("puts a payment that arrives without trace context (a Stripe webhook) into its order's trace", async () => {
    const product = await system.nest.send<{ id: number }>('products.create', { name: 'Webhook teapot', price: 9 });
    const { order } = await system.client.place([{ productId: product.id, quantity: 1 }]);
    // This order's root: the request span above its Update-with-Start.
    const root = await eventually(async () => {
      const start = spans().find(
        (span) =>
          span.name === 'UpdateWithStartWorkflow:placeOrder' &&
          span.attributes.temporalWorkflowId === `order-${order.id}`,
      );
      const found = spans().find((span) => span.spanContext().spanId === start?.parentSpanId);
      if (found === undefined) throw new Error('no orders.create span for this order yet');
      return found;
    });
    expect(root.name).toBe('orders.create process');
    const traceId = root.spanContext().traceId;

    // Published as the payments service does from a webhook: no span is active, so no headers.
    await system.nats
      .jetstream()
      .publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, paymentEvent(order.id)));
    await system.client.waitForStatus(order.id, 'PAID');

    await eventually(async () => {
      const consumed = named('payment.succeeded process', traceId);
      expect(consumed.parentSpanId).toBe(root.spanContext().spanId);
      expect(ancestors(named('SignalWorkflow:paymentSucceeded', traceId))[0]).toBe('payment.succeeded process');
    });
  });
});
