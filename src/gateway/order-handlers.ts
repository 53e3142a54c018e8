import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowIdConflictPolicy,
  type WorkflowIdReusePolicy,
} from '@temporalio/common';
import type { Config } from '../config';
import type { OrdersRepository } from '../db/orders-repository';
import type { Logger } from '../logger';
import { RpcError } from '../rpc-error';
import { ORDER_SUBJECTS } from '../nats/subjects';
import { activeTraceparent } from '../nats/trace-headers';
import { FailureType, orderNotFoundMessage, placementTimedOutMessage } from '../orders/errors';
import { checkRequestedTransition } from '../orders/lifecycle';
import {
  changeStatusUpdate,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  placeOrderUpdate,
  type PlacedOrder,
  type PlacementDeadline,
} from '../orders/workflow-api';
import type { OrderStatus, OrderWithItems, RequestedItem } from '../orders/types';
import type { OrderWorkflow } from '../workflows/order-workflow';
import { checkSameItems } from './idempotency';
import { orderIdFor } from './order-id';
import { toCallerError, toWireError } from './wire-errors';
import { orderWorkflowInput, placeStart, resumedOrderStart } from './workflow-input';
import { orderStartMetadata } from './workflow-metadata';
import {
  changeOrderStatusSchema,
  createOrderSchema,
  findAllOrdersSchema,
  findOneOrderSchema,
  mergeItems,
  parsePayload,
} from './validation';

export interface OrderHandlerDeps {
  temporal: Client;
  orders: OrdersRepository;
  taskQueue: string;
  settings: Config['orders'];
  logger: Logger;
}

const notFound = (id: string): RpcError => toWireError(FailureType.OrderNotFound, orderNotFoundMessage(id));

/**
 * A keyless create's placement deadline: early enough that the workflow has cancelled whatever it
 * stored, and answered, before the caller's own timeout. `now` is the database's clock, which the
 * worker compares it with: no two machines' clocks are compared.
 */
export function placementDeadline(createTimeoutMs: number, now: number): PlacementDeadline {
  const margin = Math.min(3_000, Math.floor(createTimeoutMs / 4));
  return { at: now + createTimeoutMs - margin, callerTimeoutMs: createTimeoutMs };
}

/**
 * Orders one idempotencyKey may have tried (each cancelled by an outage before the next): a bound
 * on the lookups a create makes (three per attempt), above what outages as long as the placement
 * timeout produce; past it the key answers 409 and the caller uses a new key.
 */
const MAX_ATTEMPTS_PER_KEY = 10;

/** The ApplicationFailure an update failed with, if it did. */
const causeOf = (error: unknown): ApplicationFailure | undefined =>
  error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure ? error.cause : undefined;

/** How a create's Update-with-Start treats a workflow of the same id: running, or closed. */
interface StartPolicies {
  workflowIdConflictPolicy: WorkflowIdConflictPolicy;
  workflowIdReusePolicy?: WorkflowIdReusePolicy;
}

/** Concurrent copies of one request meet in the same workflow. */
const JOIN_OR_START: StartPolicies = { workflowIdConflictPolicy: 'USE_EXISTING' };

/**
 * Starts the workflow only where no run of it ever existed: a running one is asked separately, and
 * a new run over a closed one would place the order again.
 */
const START_ONLY_NEW: StartPolicies = {
  workflowIdConflictPolicy: 'FAIL',
  workflowIdReusePolicy: 'REJECT_DUPLICATE',
};

/** The gateway's request handlers, keyed by primary subject (aliases: ORDER_SUBJECT_ALIASES). */
export function createOrderHandlers({ temporal, orders, taskQueue, settings, logger }: OrderHandlerDeps) {
  const withinDeadline = <T>(call: () => Promise<T>, deadline = Date.now() + settings.createTimeoutMs): Promise<T> =>
    temporal.withDeadline(deadline, call);

  /**
   * Sends the change to the order's workflow, the judge of its state: it applies earlier messages
   * (a payment just before) first. Only when no workflow runs (closed by an operator, at its history
   * limit, or after its late-payment grace) is the stored row judged, by the same lifecycle rules;
   * a change they allow starts the workflow again from PostgreSQL, as a late payment does, and runs
   * on it (Update-with-Start).
   */
  async function changeStatus(order: OrderWithItems, status: OrderStatus): Promise<OrderWithItems> {
    const { id } = order;
    const handle = temporal.workflow.getHandle<typeof OrderWorkflow>(orderWorkflowId(id));
    try {
      return await handle.executeUpdate(changeStatusUpdate, { args: [status] });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    const check = checkRequestedTransition(order.status, status);
    if (check.kind === 'unchanged') return order;
    if (check.kind === 'forbidden') throw toWireError(FailureType.ForbiddenTransition, check.message);
    logger.info({ orderId: id }, 'order workflow closed; resuming it from the database for a status change');
    return temporal.workflow.executeUpdateWithStart(changeStatusUpdate, {
      args: [status],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        ...resumedOrderStart(order, `a change to ${status}`, { taskQueue, settings }),
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  }

  /**
   * The order a keyed create is about: the key's first attempt, or a later one. An attempt whose
   * order was cancelled without a checkout and without a final rejection gave up on an outage (the
   * payments service away for longer than the placement timeout); nobody can pay it, since its
   * checkout never reached anyone, so a retry places the order anew as the key's next attempt,
   * instead of that outage answering every retry of the key with a 409 for ever. Each attempt's id
   * is derived from the key, so concurrent retries meet in one workflow as before.
   */
  async function currentAttempt(
    key: string,
    items: RequestedItem[],
  ): Promise<{ placed: PlacedOrder } | { orderId: string }> {
    for (let attempt = 0; ; attempt += 1) {
      const orderId = orderIdFor(key, attempt);
      const existing = await orders.findOrder(orderId);
      if (existing === null) return { orderId };
      checkSameItems(key, existing, items);
      const session = await orders.findPaymentSession(orderId);
      if (session) return { placed: { order: existing, paymentSession: session } };
      // Still being placed: the request joins its workflow.
      if (existing.status === 'PENDING') return { orderId };
      // Placement ended it for good (a refused checkout): the retry gets the same answer.
      const rejection = await orders.findRejection(orderId);
      if (rejection) throw toWireError(rejection.type, rejection.message);
      if (existing.status !== 'CANCELLED' || attempt + 1 >= MAX_ATTEMPTS_PER_KEY) {
        throw toWireError(
          FailureType.ForbiddenTransition,
          `Order ${orderId} for this idempotencyKey is ${existing.status} and has no payment session`,
        );
      }
    }
  }

  /** Update-with-Start of the order's workflow: its placement answers (placed, or why not). */
  function placeOrder(
    orderId: string,
    items: RequestedItem[],
    policies: StartPolicies,
    deadline: PlacementDeadline | null,
  ) {
    const start = placeStart(items, settings, deadline);
    const input = orderWorkflowInput(orderId, start, settings);
    // With tracing on, the order's trace, for its payment that arrives later without one.
    const traceparent = activeTraceparent();
    return temporal.workflow.executeUpdateWithStart(placeOrderUpdate, {
      startWorkflowOperation: new WithStartWorkflowOperation<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        workflowId: orderWorkflowId(orderId),
        taskQueue,
        args: [input],
        ...orderStartMetadata(orderId, start),
        ...(traceparent !== undefined ? { memo: { traceparent } } : {}),
        ...policies,
      }),
    });
  }

  /**
   * A keyed create's first try, before any database read, on the key's first attempt. A key never
   * seen starts its workflow, whose answer is this request's, failures included, as a keyless
   * create's is; a running workflow answers with its placed order. Undefined when the stored orders
   * must decide: the run has closed (a new run would place the order again), or the running one
   * answers a failure of a placement this request did not start. The stored order tells whether
   * that failure is final (a refused checkout), whether the key moved on to its next attempt
   * (cancelled without a checkout: an outage), and whether the items are the same.
   */
  async function askFirstAttempt(orderId: string, items: RequestedItem[]): Promise<PlacedOrder | undefined> {
    try {
      return await placeOrder(orderId, items, START_ONLY_NEW, null);
    } catch (error) {
      // A new run over an order placed before (its closed run deleted by retention): the stored
      // orders decide, as for a closed run.
      if (causeOf(error)?.type === FailureType.OrderAlreadyPlaced) return undefined;
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    try {
      return await temporal.workflow
        .getHandle<typeof OrderWorkflow>(orderWorkflowId(orderId))
        .executeUpdate(placeOrderUpdate);
    } catch (error) {
      // The run has closed: the client reports "workflow execution already completed".
      if (error instanceof WorkflowNotFoundError) return undefined;
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) return undefined;
      throw error;
    }
  }

  async function findExisting(id: string): Promise<OrderWithItems> {
    const order = await orders.findOrder(id);
    if (order === null) throw notFound(id);
    return order;
  }

  return {
    async [ORDER_SUBJECTS.create](payload: unknown): Promise<PlacedOrder> {
      const request = parsePayload(createOrderSchema, payload);
      const items = mergeItems(request.items);
      const key = request.idempotencyKey;
      let orderId = orderIdFor(key);
      /** The workflow's answer by `deadline`, else the caller's error; other items are a reused key. */
      const answered = async <T extends PlacedOrder | undefined>(
        deadline: number,
        ask: () => Promise<T>,
      ): Promise<T> => {
        try {
          const placed = await withinDeadline(ask, deadline);
          if (placed === undefined) return placed;
          checkSameItems(key, placed.order, items);
          logger.info({ orderId, total: placed.order.totalAmount }, 'order placed');
          return placed;
        } catch (error) {
          throw toCallerError(error, {
            whenSlow:
              key === undefined
                ? placementTimedOutMessage(orderId, settings.createTimeoutMs)
                : `Order ${orderId} is taking longer than ${settings.createTimeoutMs} ms to place; retry with the same idempotencyKey`,
            whenClosed: notFound(orderId),
          });
        }
      };

      /** The create's attempts: the key's first (or the keyless one), then the key's current one. */
      const placeRequested = async (): Promise<PlacedOrder> => {
        if (key === undefined) {
          // Without a key the caller cannot find this order again: placement must end by its deadline,
          // on the database's clock, the one the worker reads it on (activities/placement.ts).
          const end = placementDeadline(settings.createTimeoutMs, await orders.databaseNow());
          logger.debug({ orderId, items: items.length }, 'placing order');
          return answered(Date.now() + settings.createTimeoutMs, () => placeOrder(orderId, items, JOIN_OR_START, end));
        }

        // One deadline for every Temporal call of this request.
        const deadline = Date.now() + settings.createTimeoutMs;
        logger.debug({ orderId, items: items.length }, 'placing order');
        const first = await answered(deadline, () => askFirstAttempt(orderId, items));
        if (first !== undefined) return first;
        const current = await currentAttempt(key, items);
        if ('placed' in current) return current.placed;
        orderId = current.orderId;
        logger.debug({ orderId, items: items.length }, 'placing order');
        return answered(deadline, () => placeOrder(orderId, items, JOIN_OR_START, null));
      };

      try {
        return await placeRequested();
      } catch (error) {
        // With the order's id, which the caller of a keyless create never learns: its workflow, if
        // one started, tells why. The transport logs the refusal too, without it.
        if (error instanceof RpcError) {
          logger.info({ orderId, status: error.status, error: error.message }, 'create refused');
        }
        throw error;
      }
    },

    async [ORDER_SUBJECTS.findAll](payload: unknown) {
      return orders.listOrders(parsePayload(findAllOrdersSchema, payload));
    },

    async [ORDER_SUBJECTS.findOne](payload: unknown): Promise<OrderWithItems> {
      return findExisting(parsePayload(findOneOrderSchema, payload).id);
    },

    async [ORDER_SUBJECTS.changeStatus](payload: unknown): Promise<OrderWithItems> {
      const { id, status } = parsePayload(changeOrderStatusSchema, payload);
      const order = await findExisting(id);
      try {
        const changed = await withinDeadline(() => changeStatus(order, status));
        logger.info({ orderId: id, status: changed.status }, 'order status changed');
        return changed;
      } catch (error) {
        throw toCallerError(error, {
          whenSlow: `Changing the status of order ${id} is taking longer than ${settings.createTimeoutMs} ms; retry`,
          whenClosed: toWireError(
            FailureType.ForbiddenTransition,
            `Order ${id} is ${order.status} and can no longer change`,
          ),
        });
      }
    },
  };
}
