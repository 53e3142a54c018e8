/**
 * The multi-host test bed's plan (issue 26): which hosts there are, what runs on each, and the
 * address and interface names each gets. Pure: the namespaces, links and processes follow it.
 */

/** What a host runs; a kind is what a fault scenario picks its victim by. */
export type HostKind =
  | 'nats'
  | 'temporal-frontend'
  | 'temporal-matching'
  | 'temporal-history'
  | 'postgres'
  | 'gateway'
  | 'worker'
  | 'products'
  | 'payments'
  | 'load';

export interface HostSpec {
  /** `nats-1`, `gateway-2`, …: also the process's name in logs. */
  name: string;
  kind: HostKind;
}

/** Every host, in start order: NATS and PostgreSQL first, then Temporal, the companions, the service, the load. */
export const HOSTS: readonly HostSpec[] = [
  { name: 'nats-1', kind: 'nats' },
  { name: 'nats-2', kind: 'nats' },
  { name: 'nats-3', kind: 'nats' },
  { name: 'postgres', kind: 'postgres' },
  { name: 'history-1', kind: 'temporal-history' },
  { name: 'history-2', kind: 'temporal-history' },
  // The cluster's internal worker service (retention, scanners) runs beside matching.
  { name: 'matching', kind: 'temporal-matching' },
  { name: 'frontend', kind: 'temporal-frontend' },
  { name: 'products', kind: 'products' },
  // stripe-mock runs beside the payments service: it stands for Stripe, which only payments calls.
  { name: 'payments', kind: 'payments' },
  { name: 'worker-1', kind: 'worker' },
  { name: 'worker-2', kind: 'worker' },
  { name: 'gateway-1', kind: 'gateway' },
  { name: 'gateway-2', kind: 'gateway' },
  { name: 'load', kind: 'load' },
];

/** One host as the bed builds it: a namespace, a veth pair to the bridge and an address. */
export interface PlannedHost extends HostSpec {
  /** The network namespace's name. */
  netns: string;
  address: string;
  /** The veth end inside the namespace, and its peer on the bridge (each at most 15 characters). */
  innerLink: string;
  bridgeLink: string;
}

export interface BedPlan {
  /** Short and unique per run; every name the run creates starts with `${NAME_PREFIX}${tag}`. */
  tag: string;
  bridge: string;
  /** The bridge's own address: the runner's way in from the root namespace. */
  gateway: string;
  prefixLength: number;
  hosts: PlannedHost[];
}

/** Every namespace, link and bridge of the bed starts with this. */
export const NAME_PREFIX = 'oh';
/** Linux's limit on an interface name (IFNAMSIZ less the terminating zero). */
export const MAX_LINK_NAME = 15;

/**
 * The plan for one run: `tag` (a few hex digits) keeps two runs' names apart, `subnet` (a /24's
 * first three octets, e.g. `10.213.7`) holds the bridge at .1 and the hosts from .11 on.
 */
export function planBed(tag: string, subnet: string, hosts: readonly HostSpec[] = HOSTS): BedPlan {
  if (!/^[0-9a-f]{1,6}$/.test(tag)) throw new Error(`bed tag must be 1 to 6 hex digits, not ${tag}`);
  const octets = subnet.split('.').map(Number);
  if (octets.length !== 3 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Error(`subnet must be three octets such as 10.213.7, not ${subnet}`);
  if (hosts.length > 200) throw new Error('at most 200 hosts fit the /24');
  const names = new Set(hosts.map((host) => host.name));
  if (names.size !== hosts.length) throw new Error('two hosts share a name');
  const planned = hosts.map((host, index): PlannedHost => {
    const link = `${NAME_PREFIX}${tag}h${index}`;
    return {
      ...host,
      netns: `${NAME_PREFIX}${tag}-${host.name}`,
      address: `${subnet}.${11 + index}`,
      innerLink: `${link}i`,
      bridgeLink: `${link}b`,
    };
  });
  for (const host of planned) {
    for (const link of [host.innerLink, host.bridgeLink]) {
      if (link.length > MAX_LINK_NAME) throw new Error(`link name ${link} is longer than ${MAX_LINK_NAME}`);
    }
  }
  return { tag, bridge: `${NAME_PREFIX}${tag}br`, gateway: `${subnet}.1`, prefixLength: 24, hosts: planned };
}

export function hostNamed(plan: BedPlan, name: string): PlannedHost {
  const host = plan.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name} in the bed; hosts: ${plan.hosts.map((h) => h.name).join(', ')}`);
  return host;
}

export function hostsOfKind(plan: BedPlan, kind: HostKind): PlannedHost[] {
  return plan.hosts.filter((host) => host.kind === kind);
}

/** Fixed ports: every host has its own address, so each service keeps its usual port. */
export const PORTS = {
  nats: 4222,
  natsCluster: 6222,
  postgres: 5432,
  temporalFrontend: 7233,
  temporalFrontendHttp: 7243,
  temporalFrontendMembership: 6933,
  temporalHistory: 7234,
  temporalHistoryMembership: 6934,
  temporalMatching: 7235,
  temporalMatchingMembership: 6935,
  temporalWorker: 7239,
  temporalWorkerMembership: 6939,
  stripeMock: 12111,
  stripeMockHttps: 12112,
  paymentsHttp: 3003,
} as const;

/** The NATS URL every client is given: all three servers, so it fails over to another. */
export function natsUrl(plan: BedPlan): string {
  return hostsOfKind(plan, 'nats')
    .map((host) => `nats://${host.address}:${PORTS.nats}`)
    .join(',');
}

/** A NATS server's routes: every node of the cluster (its own entry is skipped by the server). */
export function natsRoutes(plan: BedPlan): string[] {
  return hostsOfKind(plan, 'nats').map((host) => `nats://${host.address}:${PORTS.natsCluster}`);
}

/** A free /24 for the bed: 10.<200..249>.<x>.0 not already routed on this machine. */
export function pickSubnet(routes: string, seed: number): string {
  const taken = new Set([...routes.matchAll(/\b(\d+\.\d+\.\d+)\.\d+\/\d+/g)].map((match) => match[1]));
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const n = (seed + attempt * 7919) % 12_500;
    const subnet = `10.${200 + Math.floor(n / 250)}.${n % 250}`;
    if (!taken.has(subnet)) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 found for the bed');
}
