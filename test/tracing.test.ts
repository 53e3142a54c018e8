import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { jetstream } from '@nats-io/jetstream';
import { ConfigError, parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { encodeEvent } from '../src/nats/nest-transport';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { traceHeadersOption } from '../src/nats/trace-headers';
import { startTracing } from '../src/observability/tracing';
import { tracingWorkerOptions } from '../src/temporal/tracing-interceptors';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../src/worker/workflow-code';
import type { OrderWithItems } from '../src/orders/types';
import { orderWorkflowId } from '../src/orders/workflow-api';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { securedProductionEnv } from './support/production-env';
import { runCommand } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * One order's spans, collected in memory from every part of the system (one process, one tracer
 * provider): the NATS request, the gateway, the workflow, its activities, the products and
 * payments handlers, and the payment.succeeded event back, all in one trace.
 */

/** Lines a logger wrote, parsed. */
function capturedLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('tracing settings', () => {
  it('is off by default, and on with TRACING_ENABLED, an OTLP endpoint or an exporter', () => {
    expect(parseConfig({}).tracing).toEqual({
      enabled: false,
      exporters: ['otlp'],
      otlpProtocol: 'http/protobuf',
      otlpTracesUrl: undefined,
      serviceName: undefined,
      resourceAttributes: {},
    });
    expect(parseConfig({ TRACING_ENABLED: 'true' }).tracing.enabled).toBe(true);
    expect(
      parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'orders-a' }).tracing,
    ).toMatchObject({
      enabled: true,
      otlpTracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'orders-a',
    });
    expect(
      parseConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/traces' }).tracing.otlpTracesUrl,
    ).toBe('http://collector:4318/traces');
    expect(parseConfig({ OTEL_TRACES_EXPORTER: 'otlp,console' }).tracing).toMatchObject({
      enabled: true,
      exporters: ['otlp', 'console'],
    });
  });

  it('reads the standard OTEL_* variables as the OpenTelemetry SDKs do', () => {
    // OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win over everything that turns traces on.
    const on = { TRACING_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(parseConfig({ ...on, OTEL_SDK_DISABLED: 'true' }).tracing.enabled).toBe(false);
    expect(parseConfig({ ...on, OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled).toBe(false);
    expect(startTracing(parseConfig({ ...on, OTEL_SDK_DISABLED: 'true' }).tracing, 'orders-x')).toBeUndefined();
    // The traces protocol wins over the general one; gRPC takes the base endpoint as it is.
    expect(
      parseConfig({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })
        .tracing,
    ).toMatchObject({ otlpProtocol: 'grpc', otlpTracesUrl: 'http://collector:4318' });
    // service.name from OTEL_RESOURCE_ATTRIBUTES, unless OTEL_SERVICE_NAME names it; values percent-decoded.
    const attributes = 'service.name=orders-b,deployment.environment.name=stag%2Cing';
    expect(parseConfig({ OTEL_RESOURCE_ATTRIBUTES: attributes }).tracing).toMatchObject({
      serviceName: 'orders-b',
      resourceAttributes: { 'service.name': 'orders-b', 'deployment.environment.name': 'stag,ing' },
    });
    expect(
      parseConfig({ OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: 'orders-c' }).tracing.serviceName,
    ).toBe('orders-c');
  });

  it('refuses the console exporter in production, where it would write span attributes to stdout', () => {
    const production = { ...securedProductionEnv(), OTEL_SERVICE_NAME: 'orders-a' };
    for (const exporters of ['console', 'otlp,console']) {
      expect(() => parseConfig({ ...production, OTEL_TRACES_EXPORTER: exporters }, 'gateway')).toThrow(
        /OTEL_TRACES_EXPORTER: console is refused in production \(NODE_ENV=production\)/,
      );
    }
    expect(parseConfig({ ...production, OTEL_TRACES_EXPORTER: 'otlp' }, 'gateway').tracing.exporters).toEqual(['otlp']);
    expect(parseConfig({ OTEL_TRACES_EXPORTER: 'console' }, 'gateway').tracing.exporters).toEqual(['console']);
  });

  it('names each bad OTEL_* value', () => {
    const problems = (env: Record<string, string>): string => {
      try {
        parseConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.message;
      }
      return '';
    };
    expect(problems({ OTEL_TRACES_EXPORTER: 'otlp,none' })).toContain('OTEL_TRACES_EXPORTER: none turns traces off');
    expect(problems({ OTEL_TRACES_EXPORTER: 'jaeger' })).toContain('OTEL_TRACES_EXPORTER');
    expect(problems({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' })).toContain('OTEL_EXPORTER_OTLP_PROTOCOL:');
    expect(problems({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,service.name' })).toContain(
      'OTEL_RESOURCE_ATTRIBUTES: must be key=value pairs',
    );
  });
});

describe('a process with OTEL_* variables', () => {
  // A stand-in collector: what each request to it carried.
  const received: Array<{ url?: string; contentType?: string; body: string }> = [];
  const collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const contentType = request.headers['content-type'];
      received.push({ url: request.url, contentType, body: Buffer.concat(chunks).toString('latin1') });
      response.writeHead(200, { 'content-type': contentType ?? 'application/json' });
      response.end(contentType === 'application/json' ? '{}' : '');
    });
  });
  let endpoint: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  /** A process that starts tracing from its environment, logs around and inside one span, and stops. */
  async function tracedProcess(env: Record<string, string>) {
    received.length = 0;
    const code = [
      "import { trace } from '@opentelemetry/api';",
      "import { parseConfig } from './src/config';",
      "import { createLogger } from './src/logger';",
      "import { startTracing } from './src/observability/tracing';",
      "const tracing = startTracing(parseConfig(process.env).tracing, 'orders-x');",
      "const logger = createLogger('otlp-check', 'info');",
      "logger.info('before the span');",
      "const ids = trace.getTracer('tracing-test').startActiveSpan('otlp-check-span', (span) => {",
      "  logger.info('inside the span');",
      '  span.end();',
      '  return span.spanContext();',
      '});',
      "logger.info({ ids }, 'after the span');",
      'void tracing?.shutdown();',
    ].join('\n');
    const result = await runCommand(process.execPath, [require.resolve('tsx/cli'), '-e', code], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: 'orders-otlp-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=otlp-check',
      ...env,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { lines, ids: lines.at(-1)?.ids as { traceId: string; spanId: string } };
  }

  it.each([
    ['http/protobuf', 'application/x-protobuf'],
    ['http/json', 'application/json'],
  ])('exports over %s with the resource they name, and logs the ids of the span', async (protocol, contentType) => {
    const { lines, ids } = await tracedProcess({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    expect(lines.map((line) => [line.msg, line.trace_id, line.span_id])).toEqual([
      ['before the span', undefined, undefined],
      ['inside the span', ids.traceId, ids.spanId],
      ['after the span', undefined, undefined],
    ]);
    expect(received).toEqual([{ url: '/v1/traces', contentType, body: expect.any(String) }]);
    const { body } = received[0] as { body: string };
    for (const text of ['otlp-check-span', 'orders-otlp-test', 'deployment.environment.name', 'otlp-check']) {
      expect(body).toContain(text);
    }
    if (protocol === 'http/json') expect(body).toContain(ids.traceId);
  });

  it('exports nothing and logs no ids with OTEL_SDK_DISABLED=true', async () => {
    const { lines } = await tracedProcess({ OTEL_SDK_DISABLED: 'true' });
    expect(lines.map((line) => [line.msg, line.trace_id])).toEqual([
      ['before the span', undefined],
      ['inside the span', undefined],
      ['after the span', undefined],
    ]);
    expect(received).toEqual([]);
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
    resource: resourceFromAttributes({ 'service.name': 'replay' }),
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
  const logs = capturedLogger();
  let system: TestSystem;

  beforeAll(async () => {
    system = await startTestSystem(
      { TRACING_ENABLED: 'true', ORDER_LATE_PAYMENT_GRACE_MS: '200' },
      { spanProcessor: new SimpleSpanProcessor(exporter), logger: logs.logger },
    );
  });
  /** The line `msg` the parts logged about the order `orderId`. */
  const logged = (msg: string, orderId: unknown) =>
    logs.lines.find((line) => line.msg === msg && String(line.orderId) === String(orderId));

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
      let parent = byId.get(span.parentSpanContext?.spanId ?? '');
      parent !== undefined;
      parent = byId.get(parent.parentSpanContext?.spanId ?? '')
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
    const js = jetstream(system.nats);
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
      expect(consumed.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
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

    // What the gateway logs while it handles the request and the payment carries their span's ids.
    expect(logged('order placed', order.id)).toMatchObject({ trace_id: traceId, span_id: root.spanContext().spanId });
    expect(logged('payment signalled', order.id)).toMatchObject({
      trace_id: traceId,
      span_id: named('payment.succeeded process', traceId).spanContext().spanId,
    });

    // The order's replies are unchanged by tracing.
    expect((await system.nest.send<OrderWithItems>('orders.find.one', { id: order.id })).status).toBe('DELIVERED');
  });

  it('logs a refused create with the id of its order, whose workflow says why', async () => {
    const refused = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: 987_654_321, quantity: 1 }],
    });
    expect(refused.status).toBe(400);
    const line = logs.lines.find((each) => each.msg === 'create refused' && String(each.error).includes('987654321'));
    expect(line).toMatchObject({ orderId: expect.any(String), status: 400 });
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(String(line?.orderId)));
    expect(await handle.result()).toBe('REJECTED');
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
      const found = spans().find((span) => span.spanContext().spanId === start?.parentSpanContext?.spanId);
      if (found === undefined) throw new Error('no orders.create span for this order yet');
      return found;
    });
    expect(root.name).toBe('orders.create process');
    const traceId = root.spanContext().traceId;

    // Published as the payments service does from a webhook: no span is active, so no headers.
    await jetstream(system.nats).publish(
      PAYMENT_SUCCEEDED_SUBJECT,
      encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, paymentEvent(order.id)),
    );
    await system.client.waitForStatus(order.id, 'PAID');

    await eventually(async () => {
      const consumed = named('payment.succeeded process', traceId);
      expect(consumed.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(ancestors(named('SignalWorkflow:paymentSucceeded', traceId))[0]).toBe('payment.succeeded process');
    });
  });
});
