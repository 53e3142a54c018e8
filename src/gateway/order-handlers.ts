import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Config } from '../config';
import type { OrdersRepository } from '../db/orders-repository';
import type { Logger } from '../logger';
import type { RpcError } from '../nats/nest-transport';
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
import type { OrderStatus, OrderWithItems } from '../orders/types';
import type { OrderWorkflow } from '../workflows/order-workflow';
import { checkSameItems } from './idempotency';
import { orderIdFor } from './order-id';
import { toCallerError, toWireError } from './wire-errors';
import { orderWorkflowInput } from './workflow-input';
import { orderStartMetadata, resumedOrderMetadata } from './workflow-metadata';
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

/** The gateway's request handlers, keyed by primary subject (aliases: ORDER_SUBJECT_ALIASES). */
export function createOrderHandlers({ temporal, orders, taskQueue, settings, logger }: OrderHandlerDeps) {
  const withinDeadline = <T>(call: () => Promise<T>): Promise<T> =>
    temporal.withDeadline(Date.now() + settings.createTimeoutMs, call);

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
        workflowId: orderWorkflowId(id),
        taskQueue,
        args: [orderWorkflowInput(id, [], settings, true)],
        ...resumedOrderMetadata(order, `a change to ${status}`),
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
    items: ReturnType<typeof mergeItems>,
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

  async function findExisting(id: string): Promise<OrderWithItems> {
    const order = await orders.findOrder(id);
    if (order === null) throw notFound(id);
    return order;
  }

  return {
    async [ORDER_SUBJECTS.create](payload: unknown): Promise<PlacedOrder> {
      const request = parsePayload(createOrderSchema, payload);
      const items = mergeItems(request.items);
      let orderId = orderIdFor(request.idempotencyKey);

      // A repeated request for an order that is already placed is answered from the database.
      if (request.idempotencyKey !== undefined) {
        const current = await currentAttempt(request.idempotencyKey, items);
        if ('placed' in current) return current.placed;
        orderId = current.orderId;
      }

      // Without a key the caller cannot find this order again: placement must end by its deadline.
      const keyless = request.idempotencyKey === undefined;
      const input = orderWorkflowInput(
        orderId,
        items,
        settings,
        false,
        // On the database's clock, the one the worker reads it on (activities/placement.ts).
        keyless ? placementDeadline(settings.createTimeoutMs, await orders.databaseNow()) : undefined,
      );
      logger.info({ orderId, items: items.length }, 'placing order');
      // With tracing on, the order's trace, for its payment that arrives later without one.
      const traceparent = activeTraceparent();
      try {
        const placed = await withinDeadline(() =>
          temporal.workflow.executeUpdateWithStart(placeOrderUpdate, {
            startWorkflowOperation: new WithStartWorkflowOperation<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
              workflowId: orderWorkflowId(orderId),
              taskQueue,
              args: [input],
              ...orderStartMetadata(input),
              ...(traceparent !== undefined ? { memo: { traceparent } } : {}),
              // Concurrent copies of one request meet in the same workflow.
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          }),
        );
        // Two requests with one key and other items may race past the lookup above: the one whose
        // items the workflow did not place is refused here.
        checkSameItems(request.idempotencyKey, placed.order, items);
        logger.info({ orderId, total: placed.order.totalAmount }, 'order placed');
        return placed;
      } catch (error) {
        throw toCallerError(error, {
          whenSlow: keyless
            ? placementTimedOutMessage(orderId, settings.createTimeoutMs)
            : `Order ${orderId} is taking longer than ${settings.createTimeoutMs} ms to place; retry with the same idempotencyKey`,
          whenClosed: notFound(orderId),
        });
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
