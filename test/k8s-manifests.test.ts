import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ensureBinary } from '../dev/infra/binaries';
import { ensureKubernetesSchemas, type KubernetesSchemas } from '../dev/infra/kubernetes-schemas';
import { parseConfig } from '../src/config';
import { connectionsOf, type Connection } from '../src/production-posture';
import { EXAMPLE_SECRETS, SECRETS_OF, type ProcessRole, type SecretVariable } from '../src/production-secrets';
import { REPO_ROOT, runCommand } from './support/run-command';

// deploy/k8s rendered as `kubectl apply -k` renders it (kustomize at versions.json's version) and
// validated by kubeconform in strict mode against Kubernetes' own schemas (made offline from its
// OpenAPI document, dev/infra/kubernetes-schemas.ts); then what matters for this service: the
// probes on each process's health port, its secrets and credentials and nothing more, shutdown
// within the grace period, a PodDisruptionBudget for each process in production, the deploy Jobs
// (migrations, the NATS stream) and NetworkPolicies for each pod, Stripe the only address on 443.

const { loadAll } = createRequire(__filename)('js-yaml') as { loadAll(text: string): unknown[] };

const K8S = path.join(REPO_ROOT, 'deploy/k8s');
const PROCESSES = ['gateway', 'worker', 'products', 'payments'] as const;
type Process = (typeof PROCESSES)[number];
/** The deploy steps, each a Job named orders-<step>, run as the process role of the same name. */
const JOBS = ['migrate', 'nats-setup'] as const;
type Step = (typeof JOBS)[number];
type Workload = Process | Step;
const JOB_SCRIPTS: Record<Step, string> = {
  migrate: 'src/scripts/migrate.ts',
  'nats-setup': 'src/scripts/nats-setup.ts',
};
/** The port each connection is reached on. */
const PORT_OF: Record<Connection, number> = {
  nats: 4222,
  'nats-admin': 4222,
  database: 5432,
  migrations: 5432,
  stripe: 443,
  temporal: 7233,
};

/** What each process is, as its entry point and config know it. */
const ENTRY_POINTS: Record<Process, string> = {
  gateway: 'dist/src/gateway/main.js',
  worker: 'dist/src/worker.js',
  products: 'dist/src/products/main.js',
  payments: 'dist/src/payments/main.js',
};
const METRICS_PORT_OF: Record<Process, keyof ReturnType<typeof parseConfig>['metrics']> = {
  gateway: 'gatewayPort',
  worker: 'workerPort',
  products: 'productsPort',
  payments: 'paymentsPort',
};
/** Ports each process reaches (besides DNS): Temporal 7233, NATS 4222, PostgreSQL 5432, Stripe 443. */
const EGRESS_PORTS: Record<Process, number[]> = {
  gateway: [4222, 5432, 7233],
  worker: [443, 4222, 5432, 7233],
  products: [4222, 5432],
  payments: [443, 4222],
};

interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: unknown[];
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  serviceAccountName?: string;
}
interface PolicyPeer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
}
interface PolicyRule {
  to?: PolicyPeer[];
  from?: PolicyPeer[];
  ports?: Array<{ port: number; protocol?: string }>;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: PolicyRule[];
    egress?: PolicyRule[];
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
  };
}

/** The Dockerfile's runtime ENV lines, which every container starts with. */
const IMAGE_ENV: Record<string, string> = Object.fromEntries(
  [
    ...readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')
      .split(/^FROM .* AS runtime$/m)[1]!
      .matchAll(/^ENV (\w+)=(\S+)$/gm),
  ].map((match) => [match[1] as string, match[2] as string]),
);

/** A value for a key of the Secret, shaped as the real one is (letters and digits, Stripe's prefixes). */
function secretValue(key: string): string {
  if (key === 'STRIPE_SECRET_KEY') return `sk_live_${randomBytes(12).toString('hex')}`;
  if (key === 'STRIPE_READ_KEY') return `rk_live_${randomBytes(12).toString('hex')}`;
  if (key === 'MIGRATION_DATABASE_URL') {
    return `postgres://orders_owner:${randomBytes(24).toString('hex')}@orders-postgres.postgres.svc.cluster.local:5432/orders`;
  }
  return randomBytes(24).toString('hex');
}

/** The NetworkPolicies that apply to a pod with these labels. */
function policiesFor(render: 'base' | 'production', labels: Record<string, string>): Resource[] {
  return of(render, 'NetworkPolicy').filter((policy) => selects(policy.spec?.podSelector, labels));
}

/** Every egress port a pod may open, DNS aside, by the policies that select it. */
function egressPortsOf(render: 'base' | 'production', labels: Record<string, string>): number[] {
  const ports = policiesFor(render, labels)
    .flatMap((policy) => policy.spec?.egress ?? [])
    .flatMap((rule) => rule.ports ?? [])
    .map((port) => port.port)
    .filter((port) => port !== 53);
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** A peer that is any address at all: an ipBlock wider than a /16 (0.0.0.0/0, ::/0 and the like). */
function anywhere(peer: PolicyPeer): boolean {
  if (peer.ipBlock === undefined) return false;
  const bits = Number(peer.ipBlock.cidr.split('/')[1]);
  return peer.ipBlock.cidr.includes(':') ? bits < 48 : bits < 16;
}

let dir: string;
let schemas: KubernetesSchemas;
let kubeconform: string;
let kustomize: string;
const renders: Record<'base' | 'production', { file: string; resources: Resource[] }> = {} as never;

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A NetworkPolicy's podSelector as the API server applies it: labels and expressions (In, NotIn, Exists, DoesNotExist). */
function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labels[key];
      if (operator === 'In') return value !== undefined && values.includes(value);
      if (operator === 'NotIn') return value === undefined || !values.includes(value);
      if (operator === 'Exists') return value !== undefined;
      if (operator === 'DoesNotExist') return value === undefined;
      throw new Error(`unknown selector operator ${operator}`);
    })
  );
}

function of(render: 'base' | 'production', kind: string): Resource[] {
  return renders[render].resources.filter((resource) => resource.kind === kind);
}

function deployment(render: 'base' | 'production', process: Process): Resource {
  const found = of(render, 'Deployment').find((resource) => resource.metadata.name === `orders-${process}`);
  if (found === undefined) throw new Error(`no Deployment orders-${process} in the ${render} render`);
  return found;
}

function job(render: 'base' | 'production', step: Step): Resource {
  const found = of(render, 'Job').find((resource) => resource.metadata.name === `orders-${step}`);
  if (found === undefined) throw new Error(`no Job orders-${step} in the ${render} render`);
  return found;
}

/** The Deployment of a process, or the Job of a deploy step. */
function workload(render: 'base' | 'production', name: Workload): Resource {
  return (JOBS as readonly string[]).includes(name) ? job(render, name as Step) : deployment(render, name as Process);
}

function podSpec(resource: Resource): PodSpec {
  return resource.spec!.template!.spec;
}

/** The environment the pod starts with: the image's, the ConfigMaps', its own, each secret a made-up value. */
function environmentOf(render: 'base' | 'production', process: Workload): Record<string, string> {
  const [container] = podSpec(workload(render, process)).containers as [Container];
  const configMaps = of(render, 'ConfigMap');
  const env: Record<string, string> = { ...IMAGE_ENV };
  for (const source of container.envFrom ?? []) {
    const configMap = configMaps.find((map) => map.metadata.name === source.configMapRef?.name);
    if (configMap === undefined) throw new Error(`${process}: envFrom names no ConfigMap of the render`);
    Object.assign(env, configMap.data);
  }
  for (const variable of container.env ?? []) {
    const key = variable.valueFrom?.secretKeyRef?.key;
    env[variable.name] = variable.value ?? secretValue(key ?? variable.name);
  }
  return env;
}

/** The port of the process's /metrics, /healthz and /readyz, as its configuration in the render says. */
function metricsPortOf(render: 'base' | 'production', process: Process): number {
  const port = parseConfig({ ...environmentOf(render, process), NODE_ENV: '' }).metrics[METRICS_PORT_OF[process]];
  if (port === undefined) throw new Error(`${process} serves no metrics in the ${render} render`);
  return port;
}

/** A probe's (or a Service's target) port as a number, a named port looked up in the container's ports. */
function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((entry) => entry.name === port)?.containerPort;
}

async function render(overlay: string): Promise<{ file: string; resources: Resource[] }> {
  const result = await runCommand(kustomize, ['build', path.join(K8S, overlay)]);
  if (result.code !== 0) throw new Error(`kustomize build ${overlay} failed:\n${result.stderr}`);
  const file = path.join(dir, `${overlay.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(file, result.stdout);
  return { file, resources: loadAll(result.stdout).filter(Boolean) as Resource[] };
}

function log(line: string): void {
  process.stderr.write(`[k8s-manifests] ${line}\n`);
}

async function validate(file: string): Promise<{ code: number | null; output: string }> {
  const args = ['-strict', '-summary', '-schema-location', schemas.root];
  const result = await runCommand(kubeconform, [...args, '-kubernetes-version', schemas.kubernetesVersion, file]);
  return { code: result.code, output: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'orders-k8s-'));
  // Built once with `go install` (minutes the first time), then taken from the tools' cache.
  [kustomize, kubeconform, schemas] = await Promise.all([
    ensureBinary('kustomize', log),
    ensureBinary('kubeconform', log),
    ensureKubernetesSchemas(log),
  ]);
  renders.base = await render('base');
  renders.production = await render('overlays/production');
}, 15 * 60_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('deploy/k8s', () => {
  it.each(['base', 'production'] as const)(
    'renders the %s as valid Kubernetes objects (kubeconform -strict)',
    async (name) => {
      const { code, output } = await validate(renders[name].file);
      expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/Invalid: 0, Errors: 0, Skipped: 0/) });
    },
  );

  it('validates the example Secret too, and kubeconform refuses what Kubernetes would', async () => {
    expect((await validate(path.join(K8S, 'examples/secrets.example.yaml'))).code).toBe(0);
    const wrong = path.join(dir, 'wrong.yaml');
    const deploymentText = readFileSync(renders.base.file, 'utf8').replace(
      'revisionHistoryLimit:',
      'revisionHistoryLimits:',
    );
    writeFileSync(wrong, deploymentText);
    const { code, output } = await validate(wrong);
    expect(code).toBe(1);
    expect(output).toMatch(/additional properties 'revisionHistoryLimits' not allowed/);
  });

  it.each(PROCESSES)('runs %s with its probes on /readyz and /healthz at its metrics port', (process) => {
    for (const name of ['base', 'production'] as const) {
      const spec = podSpec(deployment(name, process));
      expect(spec.containers).toHaveLength(1);
      const [container] = spec.containers as [Container];
      expect(container.command).toEqual(['node', ENTRY_POINTS[process]]);
      const port = metricsPortOf(name, process);
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(probePort(container, container.readinessProbe)).toBe(port);
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(probePort(container, container.livenessProbe)).toBe(port);
      if (container.startupProbe !== undefined) expect(container.startupProbe.httpGet?.path).toBe('/healthz');
      expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources?.limits?.memory).toEqual(expect.any(String));
    }
  });

  it.each(PROCESSES)('runs %s as non-root, read-only, without privileges', (process) => {
    const spec = podSpec(deployment('production', process));
    const [container] = spec.containers as [Container];
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.securityContext?.runAsUser).not.toBe(0);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it.each(PROCESSES)('gives %s a configuration the production posture accepts, with only its secrets', (process) => {
    const spec = podSpec(deployment('production', process));
    const [container] = spec.containers as [Container];
    const env = environmentOf('production', process);
    expect(env.NODE_ENV).toBe('production');
    const config = parseConfig(env, process);
    // Never plaintext to Temporal on the word of NetworkPolicies that do not guard the frontend.
    expect(config.temporal.privateNetwork).toBe(false);
    expect(config.temporal.tls).toBe(true);
    expect(config.nats.user).toEqual(expect.any(String));
    expect(new URL(config.databaseUrl).username).toBe('orders_service');
    // A database password only for the processes that connect to PostgreSQL (not payments).
    const connections = connectionsOf(process, config);
    expect((container.env ?? []).some((variable) => variable.name === 'PGPASSWORD')).toBe(
      connections.includes('database'),
    );
    expect(new URL(config.databaseUrl).password).toBe('');
    // Temporal's client certificate only for the processes that connect to Temporal.
    const mountsTls = (container.volumeMounts ?? []).some((volume) => volume.name === 'temporal-tls');
    expect(mountsTls).toBe(connections.includes('temporal'));
    // Secrets come from the Secret only, by key, never from a ConfigMap or a literal.
    expect(container.envFrom?.every((source) => source.secretRef === undefined)).toBe(true);
    const fromSecrets = (container.env ?? []).filter((variable) => variable.valueFrom?.secretKeyRef !== undefined);
    const secretNames = new Set(fromSecrets.map((variable) => variable.valueFrom!.secretKeyRef!.name));
    expect([...secretNames]).toEqual(['orders-service-secrets']);
    const given = (Object.keys(EXAMPLE_SECRETS) as SecretVariable[]).filter((secret) =>
      fromSecrets.some((variable) => variable.name === secret),
    );
    const verifies = process === 'worker' && config.paymentTrust.verification === 'stripe' ? ['STRIPE_SECRET_KEY'] : [];
    expect(given.sort()).toEqual([...SECRETS_OF[process], ...verifies].sort());
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) expect(Object.keys(EXAMPLE_SECRETS)).not.toContain(variable.name);
    }
  });

  it.each(['worker', 'gateway'] as const)(
    'mounts Temporal’s client certificate where %s’s TLS settings name it',
    (process) => {
      const spec = podSpec(deployment('production', process));
      const env = environmentOf('production', process);
      const [container] = spec.containers as [Container];
      const mount = (container.volumeMounts ?? []).find((volume) => volume.name === 'temporal-tls');
      expect(mount).toMatchObject({ mountPath: '/etc/orders/temporal-tls', readOnly: true });
      for (const file of [env.TEMPORAL_TLS_CA_FILE, env.TEMPORAL_TLS_CERT_FILE, env.TEMPORAL_TLS_KEY_FILE]) {
        expect(path.dirname(file ?? '')).toBe(mount?.mountPath);
      }
      expect(spec.volumes).toContainEqual({
        name: 'temporal-tls',
        secret: { secretName: 'orders-temporal-tls', defaultMode: 0o440 },
      });
    },
  );

  it.each(PROCESSES)('gives %s a termination grace period longer than its own shutdown timeout', (process) => {
    for (const name of ['base', 'production'] as const) {
      const spec = podSpec(deployment(name, process));
      const [container] = spec.containers as [Container];
      const { shutdownTimeoutMs } = parseConfig({ ...environmentOf(name, process), NODE_ENV: '' });
      // A preStop hook runs first, inside the same grace period.
      const preStop = container.lifecycle?.preStop?.exec?.command;
      const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(shutdownTimeoutMs / 1000 + preStopSeconds + 5);
    }
  });

  it('holds no secret values in production, and no Secret at all', () => {
    expect(of('production', 'Secret')).toEqual([]);
    const text = readFileSync(renders.production.file, 'utf8');
    for (const example of Object.values(EXAMPLE_SECRETS)) expect(text).not.toContain(example);
  });

  it('runs every process at least twice in production, each with a PodDisruptionBudget, on a pinned image', () => {
    const budgets = of('production', 'PodDisruptionBudget');
    for (const process of PROCESSES) {
      const resource = deployment('production', process);
      expect(resource.spec?.replicas).toBeGreaterThanOrEqual(2);
      const labels = resource.spec!.template!.metadata.labels;
      const covering = budgets.filter((budget) => matches(budget.spec?.selector?.matchLabels, labels));
      expect(covering.map((budget) => budget.metadata.name)).toEqual([`orders-${process}`]);
      const [container] = podSpec(resource).containers as [Container];
      expect(container.image).toMatch(/:\d+\.\d+\.\d+$|@sha256:[0-9a-f]{64}$/);
    }
    expect(of('base', 'PodDisruptionBudget')).toEqual([]);
  });

  it('denies all traffic by default, then lets each process reach only what it uses', () => {
    const policies = of('production', 'NetworkPolicy');
    const everyPod = policies.filter((policy) => Object.keys(policy.spec?.podSelector?.matchLabels ?? {}).length === 0);
    const defaultDeny = everyPod.find(
      (policy) => policy.spec?.ingress === undefined && policy.spec?.egress === undefined,
    );
    expect(defaultDeny?.spec?.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);
    // DNS, for every pod.
    const dns = everyPod.flatMap((policy) => policy.spec?.egress ?? []).flatMap((rule) => rule.ports ?? []);
    expect(dns.map((port) => port.port)).toEqual([53, 53]);

    for (const process of PROCESSES) {
      const labels = deployment('production', process).spec!.template!.metadata.labels;
      const own = policies.filter(
        (policy) => policy !== defaultDeny && !everyPod.includes(policy) && selects(policy.spec?.podSelector, labels),
      );
      // Its own policy, and Stripe's for the two processes that call Stripe.
      const stripe = EGRESS_PORTS[process].includes(443) ? ['orders-stripe-egress'] : [];
      expect(own.map((policy) => policy.metadata.name).sort()).toEqual([`orders-${process}`, ...stripe].sort());
      const policy = own.find((each) => each.metadata.name === `orders-${process}`) as Resource;
      expect(policy.spec?.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);
      // Every port it may open, by its own policy and the Stripe one: what it uses.
      expect(egressPortsOf('production', labels)).toEqual(EGRESS_PORTS[process]);
      // As its configuration says: the port of each connection the production posture checks it for.
      const config = parseConfig(environmentOf('production', process), process);
      const expected = [...new Set(connectionsOf(process, config).map((connection) => PORT_OF[connection]))];
      expect(expected.sort((a, b) => a - b)).toEqual(EGRESS_PORTS[process]);
      // Ingress: what it serves, nothing else.
      const [container] = podSpec(deployment('production', process)).containers as [Container];
      const served = (container.ports ?? []).map((port) => port.containerPort).sort((a, b) => a - b);
      const ingress = policy.spec!.ingress!.flatMap((rule) => rule.ports ?? []).map((port) => port.port);
      expect(ingress.sort((a, b) => a - b)).toEqual(served);
    }
  });

  it('lets no pod reach just any address: port 443 goes to the listed Stripe addresses, for the worker and payments only', () => {
    for (const name of ['base', 'production'] as const) {
      const policies = of(name, 'NetworkPolicy');
      // No rule anywhere opens a port to any address, nor leaves its destination open (no `to`).
      for (const policy of policies) {
        for (const rule of policy.spec?.egress ?? []) {
          expect([policy.metadata.name, rule.to?.some(anywhere) ?? 'any destination']).toEqual([
            policy.metadata.name,
            false,
          ]);
        }
      }
      const on443 = policies.filter((policy) =>
        (policy.spec?.egress ?? []).some((rule) => (rule.ports ?? []).some((port) => port.port === 443)),
      );
      expect(on443.map((policy) => policy.metadata.name)).toEqual(['orders-stripe-egress']);
      const [stripe] = on443 as [Resource];
      expect(stripe.spec?.policyTypes).toEqual(['Egress']);
      // Its destinations: single addresses, the operator's list (docs/deployment.md), on 443 only.
      for (const rule of stripe.spec?.egress ?? []) {
        expect(rule.ports).toEqual([{ port: 443, protocol: 'TCP' }]);
        expect(rule.to?.length).toBeGreaterThan(0);
        for (const peer of rule.to ?? []) {
          expect(peer.ipBlock?.cidr).toMatch(/\/32$|\/128$/);
          expect(peer.ipBlock?.except).toBeUndefined();
        }
      }
      // The pods it selects: exactly those whose configuration talks to Stripe.
      const workloads: Workload[] = [...PROCESSES, ...JOBS];
      const selected = workloads.filter((each) =>
        selects(stripe.spec?.podSelector, workload(name, each).spec!.template!.metadata.labels),
      );
      const talkToStripe = workloads.filter((each) => {
        const config = parseConfig(environmentOf(name, each), each);
        return connectionsOf(each, config).includes('stripe');
      });
      expect(selected).toEqual(['worker', 'payments']);
      expect(talkToStripe).toEqual(selected);
    }
  });

  it('routes a Service to the payments webhook only', () => {
    const services = of('production', 'Service') as Array<
      Resource & { spec: { selector?: Record<string, string>; ports: Array<{ targetPort: string | number }> } }
    >;
    expect(services.map((service) => service.metadata.name)).toEqual(['orders-payments']);
    const [service] = services as [(typeof services)[number]];
    const payments = deployment('production', 'payments');
    expect(matches(service.spec.selector, payments.spec!.template!.metadata.labels)).toBe(true);
    const [container] = podSpec(payments).containers as [Container];
    const targets = service.spec.ports.map((port) =>
      typeof port.targetPort === 'number'
        ? port.targetPort
        : probePort(container, { httpGet: { path: '/', port: port.targetPort } }),
    );
    const { payments: settings } = parseConfig({ ...environmentOf('production', 'payments'), NODE_ENV: '' });
    expect(targets).toEqual([settings.httpPort]);
  });

  describe('the deploy Jobs', () => {
    it.each(JOBS)('runs %s once per release, from the pinned image, with its own ServiceAccount', (step) => {
      for (const name of ['base', 'production'] as const) {
        const resource = job(name, step);
        const spec = podSpec(resource);
        expect(spec.containers).toHaveLength(1);
        const [container] = spec.containers as [Container];
        // What it runs: the compiled script of `npm run migrate` / `npm run nats:setup`, whose entry
        // point names this role to the production posture.
        expect(container.command).toEqual(['node', `dist/${JOB_SCRIPTS[step].replace(/\.ts$/, '.js')}`]);
        expect(readFileSync(path.join(REPO_ROOT, JOB_SCRIPTS[step]), 'utf8')).toContain(`loadConfigOrExit('${step}')`);
        expect(spec.restartPolicy).toBe('Never');
        expect(resource.spec?.backoffLimit).toBeGreaterThan(0);
        expect(resource.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
        expect(resource.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
        expect(spec.serviceAccountName).toBe(`orders-${step}`);
        expect(spec.automountServiceAccountToken).toBe(false);
        expect(of(name, 'ServiceAccount').map((account) => account.metadata.name)).toContain(`orders-${step}`);
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(container.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.resources?.limits?.memory).toEqual(expect.any(String));
        if (name === 'production') expect(container.image).toMatch(/:\d+\.\d+\.\d+$|@sha256:[0-9a-f]{64}$/);
        // The same image as the processes.
        expect(container.image).toBe((podSpec(deployment(name, 'worker')).containers[0] as Container).image);
      }
    });

    it('runs the migrations as the tables’ owner, from the deploy Secret, and holds nothing else', () => {
      const [container] = podSpec(job('production', 'migrate')).containers as [Container];
      const env = environmentOf('production', 'migrate');
      const config = parseConfig(env, 'migrate');
      expect(env.NODE_ENV).toBe('production');
      expect(new URL(config.migrationDatabaseUrl).username).toBe('orders_owner');
      expect(new URL(config.databaseUrl).password).toBe('');
      expect(container.env).toEqual([
        {
          name: 'MIGRATION_DATABASE_URL',
          valueFrom: { secretKeyRef: { name: 'orders-deploy-secrets', key: 'MIGRATION_DATABASE_URL' } },
        },
      ]);
      expect(connectionsOf('migrate', config)).toEqual(['migrations']);
      // Without its Secret's URL, the production posture stops it: DATABASE_URL has no password.
      expect(() => parseConfig({ ...env, MIGRATION_DATABASE_URL: '' }, 'migrate')).toThrow(
        /DATABASE_URL: has no password/,
      );
    });

    it('sets the NATS stream up as the NATS admin, from the deploy Secret, and holds nothing else', () => {
      const [container] = podSpec(job('production', 'nats-setup')).containers as [Container];
      const config = parseConfig(environmentOf('production', 'nats-setup'), 'nats-setup');
      expect(config.nats.user).toBe('orders-admin');
      expect(container.env).toEqual([
        { name: 'NATS_USER', value: 'orders-admin' },
        {
          name: 'NATS_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'orders-deploy-secrets', key: 'ORDERS_ADMIN_NATS_PASSWORD' } },
        },
      ]);
      expect(connectionsOf('nats-setup', config)).toEqual(['nats-admin']);
    });

    it('gives the processes none of the deploy Secret, and the Jobs none of the processes’ Secret', () => {
      for (const each of [...PROCESSES, ...JOBS] as Workload[]) {
        const [container] = podSpec(workload('production', each)).containers as [Container];
        const secrets = new Set((container.env ?? []).flatMap((v) => v.valueFrom?.secretKeyRef?.name ?? []));
        expect([each, [...secrets]]).toEqual([
          each,
          [(JOBS as readonly string[]).includes(each) ? 'orders-deploy-secrets' : 'orders-service-secrets'],
        ]);
      }
    });

    it.each(JOBS)('lets %s reach only what it connects to, and nothing reach it', (step) => {
      for (const name of ['base', 'production'] as const) {
        const labels = job(name, step).spec!.template!.metadata.labels;
        const own = policiesFor(name, labels).filter(
          (policy) => Object.keys(policy.spec?.podSelector?.matchLabels ?? {}).length > 0,
        );
        expect(own.map((policy) => policy.metadata.name)).toEqual([`orders-${step}`]);
        const [policy] = own as [Resource];
        expect(policy.spec?.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);
        expect(policy.spec?.ingress ?? []).toEqual([]);
        const config = parseConfig(environmentOf(name, step), step as ProcessRole);
        const ports = [...new Set(connectionsOf(step, config).map((connection) => PORT_OF[connection]))];
        expect(egressPortsOf(name, labels)).toEqual(ports);
        expect(ports).toEqual(step === 'migrate' ? [5432] : [4222]);
        // Into the namespace of what it reaches (postgres, nats), nowhere else.
        const namespaces = (policy.spec?.egress ?? []).flatMap((rule) =>
          (rule.to ?? []).map((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']),
        );
        expect(namespaces).toEqual([step === 'migrate' ? 'postgres' : 'nats']);
      }
    });
  });

  it('names only Secret keys the example Secrets list', () => {
    const examples = loadAll(readFileSync(path.join(K8S, 'examples/secrets.example.yaml'), 'utf8')) as Resource[];
    const keys = new Set(
      examples.flatMap((secret) => Object.keys(secret.stringData ?? {}).map((key) => `${secret.metadata.name}/${key}`)),
    );
    const named = renders.production.resources
      .filter((resource) => resource.spec?.template !== undefined)
      .flatMap((resource) => podSpec(resource).containers)
      .flatMap((container) => container.env ?? [])
      .flatMap((variable) => {
        const ref = variable.valueFrom?.secretKeyRef;
        return ref === undefined ? [] : [`${ref.name}/${ref.key}`];
      });
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((key) => !keys.has(key))).toEqual([]);
  });

  it('puts every namespaced object in the namespace orders', () => {
    for (const resource of renders.production.resources) {
      if (resource.kind === 'Namespace') expect(resource.metadata.name).toBe('orders');
      else expect(resource.metadata.namespace).toBe('orders');
    }
  });
});
