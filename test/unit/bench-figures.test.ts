import { cpuAboveFloor } from '../../bench/figures';
import type { PhaseResult } from '../../bench/load';
import type { PhaseCpu, SystemResult } from '../../bench/system-run';

const phase = { perSecond: 10, latencyMs: { p50: 20, p95: 30, p99: 40, max: 50 } } as unknown as PhaseResult;

/** A reading of one phase in which each process spent `cpu[name]` ms per order. */
function reading(cpu: Record<string, number>): PhaseCpu {
  const systemPerOrderMs = Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
  return {
    perOrderMs: cpu,
    systemPerOrderMs,
    harness: { benchPerOrderMs: 0, pollerBackendPerOrderMs: 0 },
  } as unknown as PhaseCpu;
}

/** A run of a system whose processes spent `create` and `pay` CPU ms per order (or both overlapped). */
function run(
  system: SystemResult['system'],
  cpu: Record<string, [create: number, pay: number]>,
  options: { overlapped?: boolean } = {},
): SystemResult {
  const phaseOf = (index: 0 | 1) =>
    reading(Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, ms[index]])));
  const both = reading(Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, ms[0] + ms[1]])));
  return {
    system,
    processes: Object.keys(cpu),
    create: phase,
    pay: phase,
    createAt1: phase,
    payAt1: phase,
    cpu: options.overlapped
      ? { create: null, pay: null, createAndPay: both, createAt1: null, payAt1: phaseOf(1) }
      : { create: phaseOf(0), pay: phaseOf(1), createAndPay: null, createAt1: null, payAt1: phaseOf(1) },
    history: null,
  } as unknown as SystemResult;
}

describe("the bench's split of the service's CPU above floor 2", () => {
  // Floor 2 44.2 ms per paid order, with a peer of its own (the seed floor's products service, say)
  // so that the floor's share of a process is taken away too.
  const floorCpu: Record<string, [number, number]> = {
    temporal: [13, 9],
    nats: [0.5, 0.5],
    postgres: [0, 0.2],
    products: [0.3, 0],
    'empty-worker': [9.7, 11],
  };
  // 48.7 ms: 4.5 more than floor 2, in Temporal and in its worker alike.
  const withAttributesCpu = { ...floorCpu, temporal: [14, 12], 'empty-worker': [10.2, 11] } as typeof floorCpu;
  const serviceCpu: Record<string, [number, number]> = {
    temporal: [14, 12],
    nats: [1, 0.5],
    postgres: [2, 1.5],
    products: [0.8, 0],
    payments: [1.4, 0],
    'stripe-mock': [1, 0],
    worker: [12, 12],
    gateway: [2, 1],
  };
  const expected = {
    floorMs: 44.2,
    marginMs: 8.84,
    aboveMs: 17,
    postgresMs: 3.3,
    peersMs: 2.9,
    natsMs: 0.5,
    searchAttributesMs: 4.5,
    requiredMs: 11.2,
    restMs: 5.8,
  };

  it('sets the work an order requires and floor 2 never does against the margin the CPU target leaves', () => {
    const split = cpuAboveFloor({
      service: run('service', serviceCpu),
      empty: run('empty', floorCpu),
      'empty-sa': run('empty-sa', withAttributesCpu),
    });
    expect(split).toEqual(expected);
  });

  it('reads the phase of a run whose creates and payments overlapped (--payment-delay) the same way', () => {
    const overlapped = { overlapped: true };
    const split = cpuAboveFloor({
      service: run('service', serviceCpu, overlapped),
      empty: run('empty', floorCpu, overlapped),
      'empty-sa': run('empty-sa', withAttributesCpu, overlapped),
    });
    expect(split).toEqual(expected);
  });

  it('needs the service and both floors of the alternation, each with its CPU', () => {
    const service = run('service', serviceCpu);
    const floor = run('empty', floorCpu);
    const withAttributes = run('empty-sa', withAttributesCpu);
    expect(cpuAboveFloor({ service, empty: floor })).toBeNull();
    expect(cpuAboveFloor({ empty: floor, 'empty-sa': withAttributes })).toBeNull();
    const unmeasured = { ...withAttributes, cpu: { ...withAttributes.cpu, pay: null } };
    expect(cpuAboveFloor({ service, empty: floor, 'empty-sa': unmeasured })).toBeNull();
  });
});
