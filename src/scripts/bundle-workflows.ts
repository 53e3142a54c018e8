import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { temporalLoggerFor } from '../temporal/sdk-logger';
import { workflowInterceptorModules } from '../temporal/tracing-interceptors';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../worker/workflow-code';

/**
 * Bundles the workflow code once, ahead of the worker, so the worker starts without webpack and
 * without the memory webpack leaves behind. `npm start`, the Docker image and the bench use it.
 */
export async function bundleWorkflows(file: string, options: { tracing?: boolean } = {}): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...WORKFLOW_BUNDLER_OPTIONS,
    // The same modules the worker installs when it bundles at start (worker/service.ts).
    workflowInterceptorModules: workflowInterceptorModules(options.tracing ?? false),
    logger: temporalLoggerFor(createLogger('bundle', 'warn')),
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, code);
}

// `npm run bundle:workflows -- <file>` (default: the file TEMPORAL_WORKFLOW_BUNDLE names).
if (require.main === module) {
  const file = process.argv[2] ?? process.env.TEMPORAL_WORKFLOW_BUNDLE;
  if (!file) {
    process.stderr.write('usage: npm run bundle:workflows -- <file> (or set TEMPORAL_WORKFLOW_BUNDLE)\n');
    process.exit(2);
  }
  // With tracing on (TRACING_ENABLED, an OTLP endpoint or exporter; src/config/tracing.ts), the bundle carries the OpenTelemetry workflow interceptor.
  bundleWorkflows(path.resolve(file), { tracing: loadConfigOrExit('tool').tracing.enabled }).then(
    () => process.stdout.write(`workflow bundle written to ${file}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
