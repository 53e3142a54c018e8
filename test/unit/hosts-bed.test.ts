import { inNetns } from '../../dev/infra/netns-command';
import { renderServerConfig } from '../../dev/infra/temporal-cluster/server-config';
import { clusterNodes } from '../../dev/infra/temporal-cluster/topology';
import { temporalHostOf, temporalSettings } from '../../dev/hosts/processes';
import { HOSTS, hostNamed, MAX_LINK_NAME, natsRoutes, natsUrl, pickSubnet, planBed } from '../../dev/hosts/topology';

describe('the multi-host bed’s plan', () => {
  const plan = planBed('3f2a07', '10.213.7');

  it('gives every host its own namespace, address and link names that Linux accepts', () => {
    expect(plan.hosts).toHaveLength(HOSTS.length);
    const addresses = plan.hosts.map((host) => host.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses.every((address) => address.startsWith('10.213.7.'))).toBe(true);
    expect(addresses).not.toContain(plan.gateway);
    for (const host of plan.hosts) {
      expect(host.netns).toBe(`oh3f2a07-${host.name}`);
      expect(host.innerLink.length).toBeLessThanOrEqual(MAX_LINK_NAME);
      expect(host.bridgeLink.length).toBeLessThanOrEqual(MAX_LINK_NAME);
    }
    expect(plan.bridge.length).toBeLessThanOrEqual(MAX_LINK_NAME);
  });

  it('has the hosts issue 26 asks for', () => {
    const kinds = HOSTS.map((host) => host.kind);
    const count = (kind: string) => kinds.filter((k) => k === kind).length;
    expect([count('nats'), count('temporal-history'), count('gateway'), count('worker')]).toEqual([3, 2, 2, 2]);
    for (const kind of ['temporal-frontend', 'temporal-matching', 'postgres', 'products', 'payments', 'load'])
      expect(count(kind)).toBe(1);
  });

  it('points NATS clients at all three servers and each server at its peers', () => {
    const nats = ['nats-1', 'nats-2', 'nats-3'].map((name) => hostNamed(plan, name).address);
    expect(natsUrl(plan)).toBe(nats.map((a) => `nats://${a}:4222`).join(','));
    expect(natsRoutes(plan)).toEqual(nats.map((a) => `nats://${a}:6222`));
  });

  it('refuses bad tags and subnets, and picks a subnet not routed here', () => {
    expect(() => planBed('xyz', '10.1.2')).toThrow(/hex/);
    expect(() => planBed('ab', '10.1.300')).toThrow(/octets/);
    const routes = '2: eth0    inet 10.200.0.5/24 brd 10.200.0.255\n10.200.1.0/24 dev br0';
    const subnet = pickSubnet(routes, 0);
    expect(subnet).toMatch(/^10\.2\d\d\.\d+$/);
    expect(['10.200.0', '10.200.1']).not.toContain(subnet);
  });

  it('runs each Temporal node on its own host, the internal worker beside matching', () => {
    const settings = temporalSettings(plan);
    const nodes = clusterNodes({ frontendPort: 7233, ports: settings.ports, historyHosts: settings.historyHosts });
    expect(nodes.map((node) => [node.name, temporalHostOf(node)])).toEqual([
      ['history-1', 'history-1'],
      ['history-2', 'history-2'],
      ['matching', 'matching'],
      ['frontend', 'frontend'],
      ['worker', 'matching'],
    ]);
    const hostOf = (node: (typeof nodes)[number]) => hostNamed(plan, temporalHostOf(node)).address;
    const history2 = nodes[1]!;
    const yaml = renderServerConfig({
      node: history2,
      nodes,
      host: '127.0.0.1',
      hostOf,
      historyShards: 4,
      persistence: {
        host: '10.213.7.14',
        port: 5432,
        user: 'postgres',
        password: '',
        database: 'temporal',
        visibilityDatabase: 'temporal_visibility',
      },
      dynamicConfigFile: '/tmp/dc.yaml',
    });
    const frontend = hostNamed(plan, 'frontend').address;
    expect(yaml).toContain(`broadcastAddress: "${hostNamed(plan, 'history-2').address}"`);
    expect(yaml).toContain(`hostPort: "${frontend}:7233"`);
    expect(yaml).toContain(`bindOnIP: "${hostNamed(plan, 'matching').address}"`);
    expect(yaml).not.toContain('127.0.0.1');
  });

  it('enters a namespace with ip netns exec, dropping root after entering when asked', () => {
    expect(inNetns('ns1', '/bin/x', ['-a'])).toEqual({ command: 'ip', args: ['netns', 'exec', 'ns1', '/bin/x', '-a'] });
    expect(inNetns('ns1', '/bin/x', [], { uid: 5, gid: 6 }).args).toEqual([
      'netns',
      'exec',
      'ns1',
      'setpriv',
      '--reuid=5',
      '--regid=6',
      '--clear-groups',
      '/bin/x',
    ]);
  });
});
