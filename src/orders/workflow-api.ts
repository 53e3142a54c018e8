import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderStatus, OrderWithItems, PaymentSession, RequestedItem, SignedPayment } from './types';

/**
 * The OrderWorkflow's API, shared by the workflow and its callers (gateway, CLI, tests): its type
 * and ids, input and result, the update, signal and query it answers, and its search attributes.
 */

export const ORDER_WORKFLOW_TYPE = 'OrderWorkflow';

export const orderWorkflowId = (orderId: string): string => `order-${orderId}`;

export interface OrderWorkflowInput {
  orderId: string;
  /** How long placement retries an unavailable products or payments service before giving up. */
  placementTimeoutMs: number;
  /** How long a PENDING order waits for its payment before it is cancelled. */
  paymentWindowMs: number;
  /** How long a DELIVERED or CANCELLED order keeps listening for late payments before it closes. */
  latePaymentGraceMs: number;
  /**
   * Messages (payments, status changes) one run handles before it continues as new, keeping its
   * history short; Temporal's own suggestion (`continueAsNewSuggested`) also triggers it.
   */
  messagesPerRun: number;
  start: StartMode;
}

/** How a run of an order's workflow begins. */
export type StartMode =
  /** A new order from `orders.create`: validate, store, open its checkout. */
  | {
      kind: 'place';
      items: RequestedItem[];
      currency: string;
      /**
       * Creates without an idempotencyKey: the caller cannot find its order again, so placement
       * ends at the caller's deadline and whatever was stored by then is cancelled. Null when the
       * caller gave a key.
       */
      deadline: PlacementDeadline | null;
    }
  /** A closed order's workflow started again (a late payment, a status change, an ended window): read from PostgreSQL. */
  | { kind: 'resume' }
  /** A run continued from an earlier one: the order as that run left it. */
  | { kind: 'continue'; carried: CarriedOrder };

/** A new order's start. */
export type PlaceStart = Extract<StartMode, { kind: 'place' }>;

/** What an order's workflow hands to the run it continues as. */
export interface CarriedOrder {
  order: OrderWithItems;
  paymentSession: PaymentSession | null;
  /** Every Stripe payment id seen for the order, applied or refunded. */
  paymentIds: string[];
  /** When a PENDING order's payment window ends, epoch ms. */
  windowEndsAt: number;
  /** The checkout was asked to close (asked once per order). */
  checkoutAsked: boolean;
  /** The checkout was found complete when the window ended: its payment is awaited however late. */
  awaitingCompletedCheckout: boolean;
}

export interface PlacementDeadline {
  /**
   * Epoch ms on the database's clock (the gateway reads it there, the worker's statements compare
   * with it there) after which no placement step starts and nothing more is stored. Orders started
   * before this carry the gateway's clock, close enough to the database's under NTP.
   */
  at: number;
  /** How long the caller waits (ORDER_CREATE_TIMEOUT_MS), named in the answer. */
  callerTimeoutMs: number;
}

export type OrderWorkflowResult = OrderStatus | 'REJECTED';

export interface PlacedOrder {
  order: OrderWithItems;
  paymentSession: PaymentSession;
}

/** Waits until the order is stored and its checkout session exists (used with Update-with-Start). */
export const placeOrderUpdate = defineUpdate<PlacedOrder>('placeOrder');

/** A status change requested by a caller; answers the order after the change. */
export const changeStatusUpdate = defineUpdate<OrderWithItems, [OrderStatus]>('changeStatus');

/**
 * Raised by the gateway's payment subscriber for each `payment.succeeded` event, signed with the key
 * it shares with the worker. Anyone with Temporal access can send this signal: the workflow checks
 * its shape and the worker its signature before it counts.
 */
export const paymentSucceededSignal = defineSignal<[SignedPayment]>('paymentSucceeded');

/**
 * Sent by the gateway when the order's payment window has ended on the database's clock (orders
 * keep no timer for it). The workflow ends the window only when its own clock agrees, so a signal
 * sent early, by anyone, changes nothing.
 */
export const paymentWindowEndedSignal = defineSignal('paymentWindowEnded');

/** The order's current state, or null while it is being placed or after it was rejected. */
export const getOrderQuery = defineQuery<OrderWithItems | null>('getOrder');

export const OrderStatusAttribute = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const OrderTotalAttribute = defineSearchAttributeKey('OrderTotal', SearchAttributeType.DOUBLE);
/** The Stripe payment (`pi_…` or `ch_…`) an order was paid with, once it is paid. */
export const PaymentIdAttribute = defineSearchAttributeKey('PaymentId', SearchAttributeType.KEYWORD);

/** Every search attribute an order sets: each namespace that runs orders must have them registered. */
export const ORDER_SEARCH_ATTRIBUTES = [OrderStatusAttribute, OrderTotalAttribute, PaymentIdAttribute];

/** The `OrderStatus` beside the order statuses, for the Web UI and CLI: a placement that stored nothing. */
export const REJECTED_ORDER_STATUS = 'REJECTED';
