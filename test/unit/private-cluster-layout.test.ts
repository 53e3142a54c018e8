import { privateClusterLayout } from '../../dev/infra/temporal-cluster/private-cluster';
import { clusterNodes, clusterPorts } from '../../dev/infra/temporal-cluster/topology';

/**
 * The test and fault suites' clusters take free ports; the history hosts' ports step by 10 from a
 * base, so the base must be chosen clear of the other nodes' ports too. The OS hands out nearby
 * ports one after another, which is how a clash once stopped a CI run.
 */
describe('a private cluster layout', () => {
  it('gives every node its own ports, layout after layout', async () => {
    const clashes: number[][] = [];
    for (let layoutNumber = 0; layoutNumber < 300; layoutNumber += 1) {
      const layout = await privateClusterLayout({
        postgresUrl: 'postgres://127.0.0.1/x',
        databasePrefix: 't',
        historyHosts: 3,
      });
      const ports = clusterPorts(
        clusterNodes({ frontendPort: layout.frontendPort, ports: layout.settings.ports, historyHosts: 3 }),
      );
      const all = [...ports, layout.settings.ports.ui];
      if (new Set(all).size !== all.length) clashes.push(all);
    }
    expect(clashes).toEqual([]);
  });
});
