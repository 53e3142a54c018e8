import { parseConfig } from '../../src/config';
import {
  TctlUsageError,
  temporalConnectionEnv,
  temporalConnectionFlags,
  translateTctl,
} from '../../src/cli/tctl-translate';

const connection = parseConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'orders' }).temporal;
const target = ['--address', 'temporal.example:7233', '--namespace', 'orders'];

const translate = (line: string): string[] => {
  const plan = translateTctl(line.split(' ').filter(Boolean), connection);
  if (plan.kind !== 'run') throw new Error(`expected a command for ${line}`);
  return plan.args;
};

const refusal = (argv: string[]): string => {
  try {
    translateTctl(argv, connection);
  } catch (error) {
    if (error instanceof TctlUsageError) return error.message;
    throw error;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
};

/** The Temporal CLI's flags for TLS with the files /ca.pem, /client.pem and /client.key. */
const TLS_FILE_FLAGS = [
  '--tls',
  '--tls-ca-path',
  '/ca.pem',
  '--tls-cert-path',
  '/client.pem',
  '--tls-key-path',
  '/client.key',
];

describe('tctl translation', () => {
  it.each([
    [
      'workflow query --workflow_id order-1 --query_type getOrder',
      ['workflow', 'query', '--workflow-id', 'order-1', '--name', 'getOrder'],
    ],
    [
      'workflow query -w order-1 --qt getOrder',
      ['workflow', 'query', '--workflow-id', 'order-1', '--name', 'getOrder'],
    ],
    [
      'wf query --wid order-1 --rid run-9 --qt getOrder',
      ['workflow', 'query', '--workflow-id', 'order-1', '--run-id', 'run-9', '--name', 'getOrder'],
    ],
    [
      'workflow query -w order-1 -r run-9 --qt getOrder -i [1]',
      ['workflow', 'query', '--workflow-id', 'order-1', '--run-id', 'run-9', '--name', 'getOrder', '--input', '[1]'],
    ],
    ['workflow list', ['workflow', 'list']],
    ['workflow list --query OrderStatus="PAID"', ['workflow', 'list', '--query', 'OrderStatus="PAID"']],
    ['workflow list -q OrderTotal>100 --ps 5', ['workflow', 'list', '--query', 'OrderTotal>100', '--limit', '5']],
    ['workflow list --pagesize 20', ['workflow', 'list', '--limit', '20']],
    ['workflow count', ['workflow', 'count']],
    ['workflow count -q OrderStatus="PENDING"', ['workflow', 'count', '--query', 'OrderStatus="PENDING"']],
    ['workflow describe -w order-1', ['workflow', 'describe', '--workflow-id', 'order-1']],
    [
      'workflow describe --workflow_id order-1 --run_id run-9',
      ['workflow', 'describe', '--workflow-id', 'order-1', '--run-id', 'run-9'],
    ],
    ['workflow show -w order-1', ['workflow', 'show', '--workflow-id', 'order-1']],
    ['workflow show -w order-1 -r run-9', ['workflow', 'show', '--workflow-id', 'order-1', '--run-id', 'run-9']],
    [
      'workflow signal -w order-1 -n paymentSucceeded -i {"orderId":"1"}',
      ['workflow', 'signal', '--workflow-id', 'order-1', '--name', 'paymentSucceeded', '--input', '{"orderId":"1"}'],
    ],
    [
      'workflow signal --workflow_id order-1 --run_id run-9 --name paymentSucceeded --input {}',
      [
        'workflow',
        'signal',
        '--workflow-id',
        'order-1',
        '--run-id',
        'run-9',
        '--name',
        'paymentSucceeded',
        '--input',
        '{}',
      ],
    ],
  ])('tctl %s', (line, expected) => {
    expect(translate(line)).toEqual([...expected, ...target]);
  });

  it('reads --flag=value and -f=value, as tctl does', () => {
    expect(translate('workflow query --workflow_id=order-1 -qt=getOrder')).toEqual([
      'workflow',
      'query',
      '--workflow-id',
      'order-1',
      '--name',
      'getOrder',
      ...target,
    ]);
    expect(translateTctl(['workflow', 'list', '--query=OrderStatus="PAID" AND OrderTotal > 10'], connection)).toEqual({
      kind: 'run',
      args: ['workflow', 'list', '--query', 'OrderStatus="PAID" AND OrderTotal > 10', ...target],
      env: {},
    });
  });

  it('keeps a query with spaces as one argument', () => {
    expect(translateTctl(['workflow', 'count', '-q', 'OrderStatus = "PAID"'], connection)).toEqual({
      kind: 'run',
      args: ['workflow', 'count', '--query', 'OrderStatus = "PAID"', ...target],
      env: {},
    });
  });

  it('takes the global --address and --namespace (--ns) before or after the command', () => {
    expect(translate('--address 10.0.0.1:7233 --ns shop workflow count')).toEqual([
      'workflow',
      'count',
      '--address',
      '10.0.0.1:7233',
      '--namespace',
      'shop',
    ]);
    expect(translate('--ad 10.0.0.1:7233 --namespace=shop workflow count')).toEqual([
      'workflow',
      'count',
      '--address',
      '10.0.0.1:7233',
      '--namespace',
      'shop',
    ]);
    expect(translate('workflow describe -w order-1 --ns shop')).toEqual([
      'workflow',
      'describe',
      '--workflow-id',
      'order-1',
      '--address',
      'temporal.example:7233',
      '--namespace',
      'shop',
    ]);
  });

  it('the last of a repeated flag wins, as in tctl', () => {
    expect(translate('workflow show -w order-1 -w order-2')).toEqual([
      'workflow',
      'show',
      '--workflow-id',
      'order-2',
      ...target,
    ]);
  });

  it('passes the configured TLS files on as flags, and the API key in the environment, where ps cannot show it', () => {
    const secure = parseConfig({
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CA_FILE: '/ca.pem',
      TEMPORAL_TLS_CERT_FILE: '/client.pem',
      TEMPORAL_TLS_KEY_FILE: '/client.key',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_API_KEY: 'key-1',
    }).temporal;
    const flags = [...TLS_FILE_FLAGS, '--tls-server-name', 'temporal.internal'];
    expect(temporalConnectionFlags(secure)).toEqual(flags);
    // The Temporal CLI reads --api-key from TEMPORAL_API_KEY.
    expect(temporalConnectionEnv(secure)).toEqual({ TEMPORAL_API_KEY: 'key-1' });
    const plan = translateTctl(['workflow', 'count'], secure);
    expect(plan).toEqual({
      kind: 'run',
      args: ['workflow', 'count', '--address', '127.0.0.1:7233', '--namespace', 'default', ...flags],
      env: { TEMPORAL_API_KEY: 'key-1' },
    });
    expect(JSON.stringify(plan.kind === 'run' && plan.args)).not.toContain('key-1');
    expect(temporalConnectionFlags(connection)).toEqual([]);
    expect(temporalConnectionEnv(connection)).toEqual({});
  });

  it("takes the TLS files under the Temporal CLI's names too", () => {
    const secure = parseConfig({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/ca.pem',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/client.key',
    }).temporal;
    expect(temporalConnectionFlags(secure)).toEqual(TLS_FILE_FLAGS);
  });

  it.each(['--help', '-h'])('answers %s with the usage', (flag) => {
    expect(translateTctl(['workflow', 'list', flag], connection)).toEqual({ kind: 'help' });
    expect(translateTctl([flag], connection)).toEqual({ kind: 'help' });
  });

  it.each([
    [[], 'tctl: no command given'],
    [['--ns', 'shop'], 'tctl: no command given'],
    [['namespace', 'list'], "tctl: unsupported command 'namespace'"],
    [['admin', 'cluster', 'describe'], "tctl: unsupported command 'admin'"],
    [['workflow'], 'tctl workflow: no command given'],
    [['workflow', '-w', 'order-1'], 'tctl workflow: no command given'],
    [['workflow', 'start', '--tq', 'orders'], "tctl: unsupported command 'workflow start'"],
    [['workflow', 'terminate', '-w', 'order-1'], "tctl: unsupported command 'workflow terminate'"],
    [['workflow', 'list', '--more'], 'tctl workflow list: unsupported flag --more'],
    [['workflow', 'list', '--open'], 'tctl workflow list: unsupported flag --open'],
    [
      ['workflow', 'show', '-w', 'order-1', '--output_filename', 'h.json'],
      'tctl workflow show: unsupported flag --output_filename',
    ],
    [['workflow', 'count', '--workflow_id', 'order-1'], 'tctl workflow count: unsupported flag --workflow_id'],
    [
      ['workflow', 'query', '-w', 'order-1', '--qt=getOrder', '--tls_cert_path=/c'],
      'tctl workflow query: unsupported flag --tls_cert_path',
    ],
    [['workflow', 'query', '-w', 'order-1'], 'tctl workflow query: missing --query_type|--qt'],
    [['workflow', 'query', '--qt', 'getOrder'], 'tctl workflow query: missing --workflow_id|--wid|-w'],
    [['workflow', 'describe'], 'tctl workflow describe: missing --workflow_id|--wid|-w'],
    [['workflow', 'show', '-r', 'run-9'], 'tctl workflow show: missing --workflow_id|--wid|-w'],
    [['workflow', 'signal', '-w', 'order-1'], 'tctl workflow signal: missing --name|-n'],
    [['workflow', 'signal', '-w', 'order-1', '-n'], 'tctl workflow signal: flag -n needs a value'],
    [['workflow', 'describe', 'order-1'], "tctl workflow describe: unexpected argument 'order-1'"],
  ])('refuses %j in one line naming the problem', (argv, message) => {
    const text = refusal(argv);
    expect(text.startsWith(message)).toBe(true);
    if (argv.length > 0 && !(argv.length === 2 && argv[0] === '--ns')) expect(text).not.toContain('\n');
  });
});
