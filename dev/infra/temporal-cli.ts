import { execFile } from 'node:child_process';
import { ORDER_SEARCH_ATTRIBUTES as ORDER_SEARCH_ATTRIBUTE_KEYS } from '../../src/orders/workflow-api';
import { waitUntil } from './ports';

// The Temporal CLI run against a server: its readiness, the namespace and the search attributes.

/** How the Temporal CLI reaches a server (the API key goes through the environment, not argv). */
export interface TemporalCliTarget {
  address: string;
  namespace?: string;
  tls?: boolean;
  apiKey?: string;
}

/** The CLI spells search attribute types in CamelCase. */
const CLI_TYPE_NAMES: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The custom search attributes the OrderWorkflow keeps current, so operators can list orders by them. */
export const ORDER_SEARCH_ATTRIBUTES = ORDER_SEARCH_ATTRIBUTE_KEYS.map((key) => ({
  name: key.name,
  type: CLI_TYPE_NAMES[key.type] ?? key.type,
}));

/** Waits until the frontend answers for the namespace (an open port alone may still be starting). */
export function waitForTemporal(
  binary: string,
  target: TemporalCliTarget,
  timeoutMs: number,
  abort?: () => Error | undefined,
): Promise<void> {
  const args = ['operator', 'namespace', 'describe', '--namespace', target.namespace ?? 'default'];
  return waitUntil(() => runCli(binary, args, target).then((result) => result.code === 0), {
    timeoutMs,
    intervalMs: 200,
    description: `Temporal at ${target.address}`,
    abort,
  });
}

/**
 * Registers the order's search attributes (OrderStatus, OrderTotal, PaymentId). Idempotent: the CLI accepts an attribute that already exists
 * with the same type. Needed on every start because `--search-attribute` does nothing to an existing
 * database file, and a reused server may never have had them.
 */
export async function registerSearchAttributes(
  binary: string,
  address: string,
  target: Omit<TemporalCliTarget, 'address'> = {},
): Promise<void> {
  for (const attribute of ORDER_SEARCH_ATTRIBUTES) {
    const result = await runCli(
      binary,
      ['operator', 'search-attribute', 'create', '--namespace', target.namespace ?? 'default'],
      { ...target, address },
      ['--name', attribute.name, '--type', attribute.type],
    );
    if (result.code !== 0) {
      throw new Error(
        `Could not register search attribute ${attribute.name} (${attribute.type}) at ${address}: ${result.output.trim()}`,
      );
    }
  }
}

/**
 * Creates the namespace with this retention, or sets the retention of an existing one (retention
 * can change at any time; it applies to workflows closing from then on). A cluster has no
 * namespace of its own, unlike the dev server.
 */
export async function ensureNamespace(
  binary: string,
  target: TemporalCliTarget & { namespace: string },
  retentionDays: number,
): Promise<'created' | 'updated'> {
  const retention = ['--retention', `${retentionDays * 24}h`];
  const described = await runCli(
    binary,
    ['operator', 'namespace', 'describe', '--namespace', target.namespace],
    target,
  );
  const verb = described.code === 0 ? 'update' : 'create';
  const result = await runCli(
    binary,
    ['operator', 'namespace', verb, '--namespace', target.namespace],
    target,
    retention,
  );
  if (result.code !== 0) {
    throw new Error(`Could not ${verb} namespace ${target.namespace} at ${target.address}: ${result.output.trim()}`);
  }
  return verb === 'create' ? 'created' : 'updated';
}

/** Waits until a cluster's frontend reports SERVING (it has no namespace to describe before setup). */
export function waitForFrontend(
  binary: string,
  target: TemporalCliTarget,
  timeoutMs: number,
  abort?: () => Error | undefined,
): Promise<void> {
  return waitUntil(
    () =>
      runCli(binary, ['operator', 'cluster', 'health'], target).then(
        (result) => result.code === 0 && result.output.includes('SERVING'),
      ),
    { timeoutMs, intervalMs: 250, description: `the Temporal frontend at ${target.address}`, abort },
  );
}

/**
 * Waits until workflows of the namespace can be listed through the frontend, that is until its
 * namespace cache knows a namespace just created (describe reads the database directly).
 */
export function waitForNamespace(
  binary: string,
  target: TemporalCliTarget & { namespace: string },
  timeoutMs: number,
): Promise<void> {
  return waitUntil(
    () =>
      runCli(binary, ['workflow', 'count', '--namespace', target.namespace], target).then(
        (result) => result.code === 0,
      ),
    { timeoutMs, intervalMs: 250, description: `namespace ${target.namespace} at ${target.address}` },
  );
}

interface CliResult {
  code: number;
  output: string;
}

function runCli(
  binary: string,
  command: string[],
  target: TemporalCliTarget,
  extra: string[] = [],
): Promise<CliResult> {
  const args = [...command, '--address', target.address, ...extra];
  if (target.tls) args.push('--tls');
  const env = { ...process.env };
  if (target.apiKey !== undefined) env.TEMPORAL_API_KEY = target.apiKey;
  return new Promise((resolve) => {
    execFile(binary, args, { env, timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
