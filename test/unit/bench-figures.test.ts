import { cpuAboveFloor } from '../../bench/figures';
import type { PhaseResult } from '../../bench/load';
import type { PhaseCpu, SystemResult } from '../../bench/system-run';

const phase = { perSecond: 10, latencyMs: { p50: 20, p95: 30, p99: 40, max: 50 } } as unknown as PhaseResult;

/** A run of a system whose processes spent `create` and `pay` CPU ms per order. */
function run(system: SystemResult['system'], cpu: Record<string, [create: number, pay: number]>): SystemResult {
  const reading = (index: 0 | 1): PhaseCpu => {
    const perOrderMs = Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, ms[index]]));
    const systemPerOrderMs = Object.values(perOrderMs).reduce((sum, ms) => sum + ms, 0);
    return {
      perOrderMs,
      systemPerOrderMs,
      harness: { benchPerOrderMs: 0, pollerBackendPerOrderMs: 0 },
    } as unknown as PhaseCpu;
  };
  return {
    system,
    processes: Object.keys(cpu),
    create: phase,
    pay: phase,
    createAt1: phase,
    payAt1: phase,
    cpu: { create: reading(0), pay: reading(1), createAndPay: null, createAt1: null, payAt1: reading(1) },
    history: null,
  } as unknown as SystemResult;
}

describe("the bench's split of the service's CPU above floor 2", () => {
  const floor = run('empty', { temporal: [13, 9], nats: [0.5, 0.5], postgres: [0, 0.2], 'empty-worker': [10, 11] });
  const withAttributes = run('empty-sa', {
    temporal: [14, 12],
    nats: [0.5, 0.5],
    postgres: [0, 0.2],
    'empty-worker': [10, 11],
  });
  const service = run('service', {
    temporal: [14, 12],
    nats: [1, 0.5],
    postgres: [2, 1.5],
    products: [0.8, 0],
    payments: [1.4, 0],
    'stripe-mock': [1, 0],
    worker: [12, 12],
    gateway: [2, 1],
  });

  it('sets the work an order requires and floor 2 never does against the margin the CPU target leaves', () => {
    // Floor 2: 44.2 ms per paid order; its margin at 1.2 is 8.84. The service: 61.2 ms.
    expect(cpuAboveFloor({ service, empty: floor, 'empty-sa': withAttributes })).toEqual({
      floorMs: 44.2,
      marginMs: 8.84,
      postgresMs: 3.3,
      peersMs: 3.2,
      natsMs: 0.5,
      searchAttributesMs: 4,
      requiredMs: 11,
      restMs: 6,
    });
  });

  it('needs the service and both floors of the alternation', () => {
    expect(cpuAboveFloor({ service, empty: floor })).toBeNull();
    expect(cpuAboveFloor({ empty: floor, 'empty-sa': withAttributes })).toBeNull();
  });
});
