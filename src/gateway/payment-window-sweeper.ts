import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Counter } from 'prom-client';
import type { OrdersRepository } from '../db/orders-repository';
import type { Logger } from '../logger';
import { registry } from '../observability/metrics';
import type { Config } from '../config';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, paymentWindowEndedSignal } from '../orders/workflow-api';
import type { OrderWorkflow } from '../workflows/order-workflow';
import { resumedOrderStart } from './workflow-input';

/**
 * Orders keep no timer for their payment window: the gateway finds the PENDING orders whose window
 * has ended on the database's clock and signals their workflows, which end the window when their
 * own clock agrees. A window still PENDING after RESIGNAL_AFTER_SWEEPS intervals (the workflow's
 * clock was behind, or the signal failed) is signalled again. Several gateways may sweep at once:
 * each order is claimed by one of them.
 */

export const paymentWindowsSignalled = new Counter({
  name: 'orders_payment_windows_signalled_total',
  help: 'Ended payment windows signalled to their order workflow, by outcome: signalled, no_workflow, failed',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Orders claimed at once; another batch follows at once while one comes back full. */
export const SWEEP_BATCH = 200;
/** Signals in flight at once. */
export const SIGNAL_CONCURRENCY = 8;
const RESIGNAL_AFTER_SWEEPS = 10;
/** So a sweep, and the gateway's stop that awaits it, never hangs on Temporal. */
const SIGNAL_TIMEOUT_MS = 10_000;

export interface PaymentWindowSweeperDeps {
  orders: Pick<OrdersRepository, 'claimEndedPaymentWindows'>;
  /** Tells an order's workflow that its payment window has ended (see signalPaymentWindowEnded). */
  signal: (orderId: string) => Promise<void>;
  /** Between the end of one sweep and the start of the next (the first starts at once); 0: no sweeps. */
  intervalMs: number;
  logger: Logger;
}

export interface PaymentWindowSweeper {
  /** No more sweeps; resolves once a sweep in flight has finished. */
  stop(): Promise<void>;
}

/**
 * The signal the sweeper sends, through a Temporal client; given up after SIGNAL_TIMEOUT_MS
 * (Temporal away). A PENDING order whose workflow has closed (an operator terminated it) is
 * started again from PostgreSQL with the signal, as a late payment starts it, so its window ends
 * all the same; an order gone or no longer PENDING needs nothing (WorkflowNotFoundError).
 */
export function signalPaymentWindowEnded(deps: {
  temporal: Client;
  orders: Pick<OrdersRepository, 'findOrder'>;
  taskQueue: string;
  settings: Config['orders'];
}): (orderId: string) => Promise<void> {
  const { temporal, orders, taskQueue, settings } = deps;
  const withinDeadline = <T>(call: () => Promise<T>): Promise<T> =>
    temporal.withDeadline(Date.now() + SIGNAL_TIMEOUT_MS, call);
  return async (orderId) => {
    try {
      await withinDeadline(() =>
        temporal.workflow.getHandle(orderWorkflowId(orderId)).signal(paymentWindowEndedSignal),
      );
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const order = await orders.findOrder(orderId);
      if (order === null || order.status !== 'PENDING') throw error;
      await withinDeadline(() =>
        temporal.workflow.signalWithStart<typeof OrderWorkflow, []>(ORDER_WORKFLOW_TYPE, {
          ...resumedOrderStart(order, 'its ended payment window', { taskQueue, settings }),
          signal: paymentWindowEndedSignal,
          signalArgs: [],
        }),
      );
    }
  };
}

export function startPaymentWindowSweeper(deps: PaymentWindowSweeperDeps): PaymentWindowSweeper {
  const { orders, signal, intervalMs, logger } = deps;
  if (intervalMs === 0) {
    logger.info('payment window sweeper off (PAYMENT_WINDOW_SWEEP_MS=0)');
    return { stop: () => Promise.resolve() };
  }
  const resignalAfterMs = RESIGNAL_AFTER_SWEEPS * intervalMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  /** Signals each order, a few at a time; the ones that failed for a reason other than a missing workflow. */
  const signalAll = async (orderIds: string[]): Promise<Array<{ orderId: string; error: unknown }>> => {
    const failed: Array<{ orderId: string; error: unknown }> = [];
    let next = 0;
    const work = async (): Promise<void> => {
      while (next < orderIds.length) {
        const orderId = orderIds[next++] as string;
        try {
          await signal(orderId);
          paymentWindowsSignalled.inc({ outcome: 'signalled' });
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) {
            paymentWindowsSignalled.inc({ outcome: 'no_workflow' });
            logger.warn({ orderId }, 'PENDING order whose payment window ended has no running workflow');
          } else {
            paymentWindowsSignalled.inc({ outcome: 'failed' });
            failed.push({ orderId, error });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIGNAL_CONCURRENCY, orderIds.length) }, work));
    return failed;
  };

  const sweep = async (): Promise<void> => {
    for (;;) {
      const orderIds = await orders.claimEndedPaymentWindows(SWEEP_BATCH, resignalAfterMs);
      const failed = await signalAll(orderIds);
      if (failed.length > 0) {
        // Temporal is likely away: claim no more until the next sweep.
        logger.error(
          { err: failed[0]?.error, orderIds: failed.map((failure) => failure.orderId), resignalAfterMs },
          'ended payment windows not signalled; signalled again later',
        );
        return;
      }
      if (orderIds.length < SWEEP_BATCH || stopped) return;
    }
  };

  const run = (): void => {
    inFlight = sweep()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'payment window sweep failed; trying again at the next one');
      })
      .finally(() => {
        inFlight = undefined;
        if (stopped) return;
        timer = setTimeout(run, intervalMs);
        // The gateway's connections keep the process alive, never this timer.
        timer.unref();
      });
  };
  // At once, for the windows that ended while no gateway swept, then an interval after each sweep.
  run();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
