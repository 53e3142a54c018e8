import type { TemporalClusterPorts } from '../../config';

/** The Temporal services a cluster runs; each node below is one process running one of them. */
export type TemporalService = 'frontend' | 'history' | 'matching' | 'worker';

/** One process of the cluster: `server start --service <service>` with its own ports. */
export interface ClusterNode {
  /** `frontend`, `history-1`, `history-2`, `matching`, `worker`: also its log and config file names. */
  name: string;
  service: TemporalService;
  grpcPort: number;
  membershipPort: number;
  /** The frontend's HTTP API. */
  httpPort?: number;
}

/** The frontend's gRPC port is TEMPORAL_ADDRESS's; the others come from the cluster settings. */
export interface ClusterLayout {
  frontendPort: number;
  ports: Omit<TemporalClusterPorts, 'ui'>;
  historyHosts: number;
}

/** History host n (from 0) listens 10 ports above host 0, so hosts can be added without new settings. */
export const HISTORY_PORT_STEP = 10;

/**
 * Every process of the cluster, in start order: history first (it owns the shards), then matching,
 * the frontend and the internal worker service (which calls the frontend).
 */
export function clusterNodes(layout: ClusterLayout): ClusterNode[] {
  const { ports } = layout;
  const history = Array.from({ length: layout.historyHosts }, (_, n): ClusterNode => ({
    name: `history-${n + 1}`,
    service: 'history',
    grpcPort: ports.history + HISTORY_PORT_STEP * n,
    membershipPort: ports.historyMembership + HISTORY_PORT_STEP * n,
  }));
  return [
    ...history,
    { name: 'matching', service: 'matching', grpcPort: ports.matching, membershipPort: ports.matchingMembership },
    {
      name: 'frontend',
      service: 'frontend',
      grpcPort: layout.frontendPort,
      membershipPort: ports.frontendMembership,
      httpPort: ports.frontendHttp,
    },
    { name: 'worker', service: 'worker', grpcPort: ports.worker, membershipPort: ports.workerMembership },
  ];
}

/** Every port the layout uses, to check for clashes before anything starts. */
export function clusterPorts(nodes: ClusterNode[]): number[] {
  return nodes.flatMap((node) => [node.grpcPort, node.membershipPort, ...(node.httpPort ? [node.httpPort] : [])]);
}
