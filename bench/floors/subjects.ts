/** The floors' own subjects, streams and task queue: none of them meets the real service's. */
export const FLOOR_SUBJECTS = {
  seed: { create: 'bench.seed.orders.create', payment: 'bench.seed.payment.succeeded', stream: 'BENCH_SEED' },
  empty: { create: 'bench.empty.orders.create', payment: 'bench.empty.payment.succeeded', stream: 'BENCH_EMPTY' },
  /** Floor 2 with the service's search attributes: its own create subject, floor 2's payments and processes. */
  'empty-sa': {
    create: 'bench.empty-sa.orders.create',
    payment: 'bench.empty.payment.succeeded',
    stream: 'BENCH_EMPTY',
  },
} as const;

export const EMPTY_TASK_QUEUE = 'bench-empty';
export const EMPTY_WORKFLOW_TYPE = 'EmptyOrderWorkflow';
export const emptyWorkflowId = (orderId: string): string => `empty-${orderId}`;
