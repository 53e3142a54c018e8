import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * What a process loads is memory it holds for its whole life (the worker's RSS is a target). The
 * OpenTelemetry SDK, its exporters and Temporal's tracing interceptors are loaded only when tracing
 * is on, and the processes that are only Temporal clients never load the worker's SDK.
 */

const ROOT = path.resolve(__dirname, '../..');
const TRACING_ONLY =
  /node_modules\/(@opentelemetry\/(sdk-node|sdk-trace-base|resources|exporter-trace-otlp-[a-z]+)|@temporalio\/interceptors-opentelemetry-v2)\//;
const WORKER_SDK = /node_modules\/@temporalio\/worker\//;

/** The packages matching `pattern` that a fresh Node loads with `script` (after requiring `modules`). */
function loadedPackages(modules: string[], script: string, pattern: RegExp): string[] {
  const program = `
    ${modules.map((module) => `require(${JSON.stringify(path.join(ROOT, module))});`).join('\n')}
    ${script}
    const pattern = new RegExp(${JSON.stringify(pattern.source)});
    const packages = Object.keys(require.cache)
      .map((file) => file.match(pattern)?.[0])
      .filter((name) => name !== undefined);
    process.stdout.write(JSON.stringify([...new Set(packages)].sort()));`;
  const output = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', program], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
  });
  return JSON.parse(output.toString()) as string[];
}

const TRACING = ['src/observability/tracing.ts', 'src/temporal/tracing-interceptors.ts'];
const PROCESSES = [
  'src/worker/service.ts',
  'src/gateway/service.ts',
  'src/products/service.ts',
  'src/payments/service.ts',
  'src/temporal/connection.ts',
  'src/temporal/worker-connection.ts',
];
const tracingWith = (enabled: boolean) => `
  const { startTracing } = require('./src/observability/tracing.ts');
  const { tracingClientInterceptors, tracingWorkerOptions } = require('./src/temporal/tracing-interceptors.ts');
  const { InMemorySpanExporter, SimpleSpanProcessor } = ${enabled}
    ? require('@opentelemetry/sdk-trace-base')
    : { InMemorySpanExporter: Object, SimpleSpanProcessor: Object };
  const settings = { enabled: ${enabled}, exporters: [], resourceAttributes: {}, otlpProtocol: 'http/protobuf' };
  const tracing = startTracing(settings, 'orders-test', new SimpleSpanProcessor(new InMemorySpanExporter()));
  tracingClientInterceptors(${enabled});
  tracingWorkerOptions(tracing);
  tracing?.shutdown();`;

describe('modules loaded only when needed', () => {
  it('tracing off: no process loads the OpenTelemetry SDK, its exporters or the tracing interceptors', () => {
    expect(loadedPackages([...PROCESSES, ...TRACING], tracingWith(false), TRACING_ONLY)).toEqual([]);
  });

  it('tracing on: the SDK and the interceptors are loaded when tracing starts', () => {
    const loaded = loadedPackages(TRACING, tracingWith(true), TRACING_ONLY);
    expect(loaded).toEqual(
      expect.arrayContaining([
        'node_modules/@opentelemetry/sdk-node/',
        'node_modules/@temporalio/interceptors-opentelemetry-v2/',
      ]),
    );
  });

  it('the gateway, products and payments never load the worker SDK', () => {
    const clients = PROCESSES.filter((module) => !module.includes('worker'));
    expect(loadedPackages(clients, '', WORKER_SDK)).toEqual([]);
    expect(loadedPackages(['src/temporal/worker-connection.ts'], '', WORKER_SDK)).toEqual([
      'node_modules/@temporalio/worker/',
    ]);
  });
});
