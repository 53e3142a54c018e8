import { parseDevConfig } from '../../dev/config';
import { renderDynamicConfig, renderServerConfig } from '../../dev/infra/temporal-cluster/server-config';
import { persistenceFromUrl } from '../../dev/infra/temporal-cluster/schema';
import { clusterNodes, clusterPorts } from '../../dev/infra/temporal-cluster/topology';

const settings = parseDevConfig({ TEMPORAL_CLUSTER_HISTORY_HOSTS: '3', TEMPORAL_CLUSTER_HISTORY_SHARDS: '16' }).temporal
  .cluster;
const nodes = clusterNodes({ frontendPort: 7233, ports: settings.ports, historyHosts: settings.historyHosts });

describe('the cluster profile’s topology and rendered server configuration', () => {
  it('has one process per role and history host, each with its own ports', () => {
    expect(nodes.map((node) => `${node.name}:${node.service}:${node.grpcPort}/${node.membershipPort}`)).toEqual([
      'history-1:history:7234/6934',
      'history-2:history:7244/6944',
      'history-3:history:7254/6954',
      'matching:matching:7235/6935',
      'frontend:frontend:7233/6933',
      'worker:worker:7239/6939',
    ]);
    const ports = clusterPorts(nodes);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('renders each node’s own ports, the shard count, both databases and the frontend for the worker service', () => {
    const persistence = persistenceFromUrl('postgres://temporal:s3cret@db.internal:5433/temporal_main', 'temporal_vis');
    const history2 = nodes.find((node) => node.name === 'history-2');
    if (!history2) throw new Error('no history-2');
    const yaml = renderServerConfig({
      node: history2,
      nodes,
      host: '127.0.0.1',
      historyShards: 16,
      persistence,
      dynamicConfigFile: '/x/dc.yaml',
    });
    expect(yaml).toContain('numHistoryShards: 16');
    expect(yaml).toMatch(/ {2}history:\n {4}rpc:\n {6}grpcPort: 7244\n {6}membershipPort: 6944\n/);
    expect(yaml).toMatch(
      / {2}frontend:\n {4}rpc:\n {6}grpcPort: 7233\n {6}membershipPort: 6933\n {6}bindOnIP: "127.0.0.1"\n {6}httpPort: 7243/,
    );
    expect(yaml).toContain('databaseName: "temporal_main"');
    expect(yaml).toContain('databaseName: "temporal_vis"');
    expect(yaml).toContain('connectAddr: "db.internal:5433"');
    expect(yaml).toContain('password: "s3cret"');
    expect(yaml).toContain('hostPort: "127.0.0.1:7233"');
    expect(yaml).toContain('filepath: "/x/dc.yaml"');
    expect(renderDynamicConfig({ 'a.b': true, 'c.d': 5 })).toBe(
      'a.b:\n  - value: true\n    constraints: {}\nc.d:\n  - value: 5\n    constraints: {}\n',
    );
  });
});
