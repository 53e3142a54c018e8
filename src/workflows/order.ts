import { ApplicationFailure, log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  checkoutRefusedMessage,
  FailureType,
  paymentSessionFailedMessage,
  placementTimedOutMessage,
} from '../orders/errors';
import { checkRequestedTransition } from '../orders/lifecycle';
import {
  OrderStatusAttribute,
  OrderTotalAttribute,
  PaymentIdAttribute,
  type CarriedOrder,
  type OrderWorkflowInput,
  type PlacedOrder,
  type PlacementDeadline,
  type PlaceStart,
} from '../orders/workflow-api';
import type { OrderStatus, OrderWithItems, PaymentSession, SignedPayment } from '../orders/types';
import { pricedItems } from '../orders/money';
import type { OrderActivityProxies } from './activity-proxies';
import { causeMessage, causeType, failure, placementFailure } from './failures';
import { answer, type Message } from './inbox';
import { PaymentWindow } from './payment-window';

/** How placement ended for the caller of `orders.create` (a resumed or continued order answers the same way). */
export type Placement =
  | { kind: 'placed'; paymentSession: PaymentSession }
  /** The caller's failure. The order may still have been stored (then cancelled or followed as it is). */
  | { kind: 'rejected'; failure: ApplicationFailure };

/**
 * One order's state and the steps that change it. Only the workflow calls these, one at a time
 * (the inbox serialises them), so no step races another.
 */
export class Order {
  /** The order as last stored: null until it is placed, and for ever if placement stored nothing. */
  current: OrderWithItems | null = null;
  private paymentSession: PaymentSession | null = null;
  private readonly seenPayments = new Set<string>();
  /** The checkout was asked to close (once is enough: a later cancellation does not ask again). */
  private checkoutClosed = false;
  private window: PaymentWindow;

  constructor(
    private readonly input: OrderWorkflowInput,
    private readonly activities: OrderActivityProxies,
  ) {
    this.window = PaymentWindow.opening(input.paymentWindowMs);
  }

  get status(): OrderStatus {
    return this.placed().status;
  }

  /** The order as last stored, once it is placed. */
  private placed(): OrderWithItems {
    if (this.current === null) throw new Error(`order ${this.input.orderId} is not placed`);
    return this.current;
  }

  /** What `orders.create` answers once placement has settled: the order as it is now, or the failure. */
  created(placement: Placement): PlacedOrder {
    if (placement.kind === 'rejected') throw placement.failure;
    return { order: this.placed(), paymentSession: placement.paymentSession };
  }

  /**
   * Validate and store, then open the checkout. Nothing is stored if validation fails; an order
   * stored without a checkout is cancelled, so none waits for a payment that cannot come.
   */
  async place(start: PlaceStart): Promise<Placement> {
    let stored: OrderWithItems;
    try {
      stored = await this.store(start);
    } catch (error) {
      return this.rejectUnstored(error, start.deadline);
    }
    if (stored.status !== 'PENDING') {
      // Placed before by a run whose history retention deleted: no new checkout for it. The order
      // is followed as it is; the caller is answered from PostgreSQL.
      this.publish(stored, 'found placed before, its earlier workflow history deleted');
      const failed = `Order ${this.input.orderId} was placed before and is ${stored.status}`;
      return rejected(FailureType.OrderAlreadyPlaced, failed);
    }
    this.publish(stored, 'placed: products validated and stored');
    try {
      return this.settle(await this.openCheckout(stored, start));
    } catch (error) {
      return this.cancelWithoutCheckout(error, start.deadline);
    }
  }

  /** Validates the products and stores the order (an order stored before is found, not stored twice). */
  private store({ items, currency, deadline }: PlaceStart): Promise<OrderWithItems> {
    return this.activities.placement(`validate and store ${items.length} products`).placeOrder({
      orderId: this.input.orderId,
      currency,
      items,
      ...stepDeadline(deadline),
    });
  }

  /** Opens the order's Stripe checkout, kept with the order and the end of its payment window. */
  private openCheckout(stored: OrderWithItems, { currency, deadline }: PlaceStart): Promise<PaymentSession> {
    return this.activities.placement('open checkout session').openCheckout({
      orderId: this.input.orderId,
      currency,
      items: pricedItems(stored),
      paymentWindowEndsAt: this.window.endsAt,
      ...stepDeadline(deadline),
    });
  }

  /** Placed once the order has its checkout; an order without one cannot be paid. */
  private settle(paymentSession: PaymentSession | null): Placement {
    this.paymentSession = paymentSession;
    if (paymentSession === null) {
      return rejected(FailureType.OrderNotFound, `Order ${this.input.orderId} has no payment session`);
    }
    return { kind: 'placed', paymentSession };
  }

  /** The caller's answer when placement stored nothing, or nothing it knows of. */
  private async rejectUnstored(error: unknown, deadline: PlacementDeadline | null): Promise<Placement> {
    const { orderId } = this.input;
    if (deadline !== null && causeType(error) === FailureType.PlacementTimedOut) {
      return this.timedOut(deadline);
    }
    if (deadline !== null && mayHaveStored(error)) {
      // An abandoned attempt may still commit before the deadline: once it has passed, whatever
      // was stored is cancelled, so the caller's "nothing was kept" stays true.
      const stored = await this.activities
        .durable('settle placement at its deadline')
        .settlePlacement({ orderId, deadline: deadline.at });
      if (stored !== null) {
        this.publish(stored, 'placed by an abandoned attempt');
        this.publish(
          await this.activities.durable('cancel order: placement failed').setOrderStatus(orderId, 'CANCELLED'),
          'placement failed after an attempt was abandoned',
        );
        return this.timedOut(deadline);
      }
    }
    const down = causeType(error) === FailureType.DatabaseUnavailable ? 'database' : 'products service';
    return {
      kind: 'rejected',
      failure: placementFailure(error, FailureType.ServiceUnavailable, `The ${down} is unavailable`),
    };
  }

  /** The order exists but cannot be paid: cancelled rather than left PENDING for ever. */
  private async cancelWithoutCheckout(error: unknown, deadline: PlacementDeadline | null): Promise<Placement> {
    const { orderId } = this.input;
    const { durable } = this.activities;
    log.warn('payment session failed; cancelling the order', { orderId });
    if (causeType(error) === FailureType.CheckoutRefused) {
      // Refused for good: the reason is kept, so a retry with the same key gets the same answer.
      const message = checkoutRefusedMessage(orderId, causeMessage(error));
      this.publish(
        await durable('reject order: checkout refused').rejectOrder(orderId, {
          type: FailureType.CheckoutRefused,
          message,
        }),
        'checkout refused',
      );
      return rejected(FailureType.CheckoutRefused, message);
    }
    this.publish(
      await durable('cancel order: no checkout session').setOrderStatus(orderId, 'CANCELLED'),
      'no checkout session',
    );
    if (deadline !== null && causeType(error) === FailureType.PlacementTimedOut) return this.timedOut(deadline);
    return {
      kind: 'rejected',
      failure: placementFailure(error, FailureType.PaymentSessionFailed, paymentSessionFailedMessage(orderId)),
    };
  }

  /** A keyless create's answer once its deadline has passed: nothing was kept. */
  private timedOut(deadline: PlacementDeadline): Placement {
    return rejected(
      FailureType.PlacementTimedOut,
      placementTimedOutMessage(this.input.orderId, deadline.callerTimeoutMs),
    );
  }

  /** The order as an earlier run of its workflow left it (continue-as-new): no placement. */
  restore(carried: CarriedOrder): Placement {
    carried.paymentIds.forEach((id) => this.seenPayments.add(id));
    this.checkoutClosed = carried.checkoutAsked;
    this.window = PaymentWindow.carried(carried);
    this.publish(carried.order, 'continued as new');
    return this.settle(carried.paymentSession);
  }

  /** What the next run needs to go on where this one stops. */
  carry(): CarriedOrder {
    return {
      order: this.placed(),
      paymentSession: this.paymentSession,
      paymentIds: [...this.seenPayments],
      checkoutAsked: this.checkoutClosed,
      ...this.window.carry(),
    };
  }

  /** A closed order's workflow started again (a late payment, a status change): the order from PostgreSQL. */
  async resume(): Promise<Placement> {
    const stored = await this.activities.durable('load order from database').loadOrder(this.input.orderId);
    stored.paymentIds.forEach((id) => this.seenPayments.add(id));
    this.window = PaymentWindow.resumed(stored.paymentWindowEndsAt);
    this.publish(stored.order, 'resumed from the database');
    return this.settle(stored.paymentSession);
  }

  /** Applies one message from the inbox; a refused status change is the caller's answer, not an error. */
  async handle(message: Message): Promise<void> {
    if (message.kind === 'payment') return this.applyPayment(message.payment);
    if (message.kind === 'paymentWindowEnded') return this.endPaymentWindow();
    try {
      answer(message, await this.changeStatus(message.status));
    } catch (error) {
      if (!(error instanceof ApplicationFailure)) throw error;
      answer(message, error);
    }
  }

  /**
   * Each payment once, and only when the worker has verified it: signed by the gateway, this
   * order's and no other's, of the order's amount and currency. The first verified payment pays a
   * PENDING order; a mismatched one, or one for an order already paid or closed, is recorded and
   * refunded; a refused one changes nothing and is not remembered, so the genuine payment under
   * the same id still counts.
   */
  async applyPayment(payment: SignedPayment): Promise<void> {
    const id = payment.stripePaymentId;
    if (this.seenPayments.has(id)) return this.acceptReceipt(payment, id);
    const { status } = this.placed();
    if (status !== 'PENDING') {
      // Verified first, so a signal from anyone else asks nobody anything and is not remembered.
      const checked = await this.activities
        .durable(`check payment ${id}`)
        .acceptPayment({ orderId: this.input.orderId, payment, use: { kind: 'check' } });
      if (checked.kind === 'refused') {
        log.warn('payment refused', { orderId: this.input.orderId, reason: checked.reason });
        return;
      }
      // Before refunding a "second" payment: the same one under its other id is not a second one.
      const same = await this.samePaymentAs(id);
      if (same !== null) {
        log.info('payment already seen under another id', { orderId: this.input.orderId, stripePaymentId: id, same });
        this.seenPayments.add(id);
        return this.acceptReceipt(payment, same);
      }
    }
    const accepted = await this.activities
      .durable(`record payment ${id}`)
      .acceptPayment({ orderId: this.input.orderId, payment, use: { kind: status === 'PENDING' ? 'pay' : 'refund' } });
    if (accepted.kind !== 'recorded') {
      if (accepted.kind === 'refused')
        log.warn('payment refused', { orderId: this.input.orderId, reason: accepted.reason });
      return;
    }
    this.seenPayments.add(id);
    if (accepted.outcome === 'APPLIED') {
      this.publish(accepted.order, `paid by ${id}`);
      return;
    }
    const reason =
      accepted.outcome === 'MISMATCH'
        ? `payment does not match the order: ${accepted.detail ?? 'amount or currency'}`
        : `payment received for a ${status} order`;
    this.publish(accepted.order, `payment ${id}: ${reason}; refund requested`);
    await this.activities.durable(`request refund of ${id}: ${reason}`).requestRefund({
      orderId: this.input.orderId,
      stripePaymentId: id,
      reason,
    });
  }

  /** A later event for the payment that paid this order brings the receipt it lacked (verified first). */
  private async acceptReceipt(payment: SignedPayment, paidWith: string): Promise<void> {
    const order = this.placed();
    if (payment.receiptUrl === null || order.receiptUrl !== null || order.stripeChargeId !== paidWith) return;
    const accepted = await this.activities
      .durable(`fill receipt of ${paidWith}`)
      .acceptPayment({ orderId: this.input.orderId, payment, use: { kind: 'receipt', of: paidWith } });
    if (accepted.kind === 'refused')
      log.warn('receipt refused', { orderId: this.input.orderId, reason: accepted.reason });
    else if (accepted.kind === 'receipt') this.publish(accepted.order, `receipt of ${paidWith} arrived`);
  }

  /**
   * The seen payment that is the same Stripe payment intent as `stripePaymentId`, or null. Ids of
   * one kind (two `pi_`, two `ch_`) are different payments; a `ch_` and a `pi_` are compared by
   * asking the payments service (Stripe) for the intent behind each. Unknown means different.
   */
  private async samePaymentAs(stripePaymentId: string): Promise<string | null> {
    const kind = (id: string): string => (id.startsWith('pi_') ? 'intent' : 'charge');
    const others = [...this.seenPayments].filter((seen) => kind(seen) !== kind(stripePaymentId));
    if (others.length === 0) return null;
    const intents = await this.activities
      .durable('identify payments with Stripe')
      .identifyPayments([stripePaymentId, ...others].slice(0, 20));
    const intent = intents[stripePaymentId] ?? null;
    if (intent === null) return null;
    return others.find((seen) => intents[seen] === intent) ?? null;
  }

  /** A requested status change; throws a ForbiddenTransition failure the caller receives. */
  async changeStatus(status: OrderStatus, why = 'requested'): Promise<OrderWithItems> {
    const before = this.placed();
    const check = checkRequestedTransition(before.status, status);
    if (check.kind === 'unchanged') return before;
    if (check.kind === 'forbidden') throw failure(FailureType.ForbiddenTransition, check.message);
    const { orderId } = this.input;
    if (status === 'CANCELLED' && before.status === 'PENDING') await this.expireCheckout();
    this.publish(
      await this.activities.durable(`set status ${status}`).setOrderStatus(orderId, status),
      `${before.status} -> ${status}: ${why}`,
    );
    if (status === 'CANCELLED' && before.status === 'PAID' && before.stripeChargeId !== null) {
      await this.activities.durable(`request refund of ${before.stripeChargeId}`).requestRefund({
        orderId,
        stripePaymentId: before.stripeChargeId,
        reason: 'order cancelled after payment',
      });
    }
    return this.placed();
  }

  /**
   * The gateway says the payment window has ended; it ends when this workflow's clock agrees, for a
   * PENDING order only (a signal sent early, or after the order was paid, changes nothing). The
   * customer may be paying right now: the checkout is closed, or found complete, and then its
   * payment is awaited however late it comes rather than the order being cancelled and the payment
   * refunded. Otherwise the order is cancelled.
   */
  async endPaymentWindow(): Promise<void> {
    const { orderId } = this.input;
    if (this.placed().status !== 'PENDING' || !this.window.hasEnded) {
      log.info('payment window signal ignored: the window has not ended for this order', { orderId });
      return;
    }
    if ((await this.expireCheckout())?.status === 'complete') {
      log.info('payment window ended with the checkout complete; waiting for its payment', { orderId });
      // The money was taken: its event survives any outage, so it is awaited however late it comes.
      this.window.awaitCompletedCheckout();
      await this.activities.durable('keep the payment window open').keepPaymentWindowOpen(orderId);
      return;
    }
    log.info('payment window ended; cancelling the order', { orderId });
    await this.changeStatus('CANCELLED', 'payment window ended');
  }

  /**
   * Best effort: a cancelled order's checkout is closed so the customer cannot pay it any more;
   * if that fails, a payment that still arrives is recorded and refunded.
   */
  private async expireCheckout(): Promise<{ status: string | null } | null> {
    const sessionId = this.paymentSession?.sessionId;
    if (typeof sessionId !== 'string' || this.checkoutClosed) return null;
    this.checkoutClosed = true;
    const { orderId } = this.input;
    try {
      const outcome = await this.activities
        .bestEffort('expire checkout session')
        .expirePaymentSession({ orderId, sessionId });
      log.info('checkout session expiry', { orderId, ...outcome });
      return { status: outcome.status ?? null };
    } catch (error) {
      log.warn('checkout session could not be expired', { orderId, error: String(error) });
      return null;
    }
  }

  /**
   * The new state, for queries, for the Web UI's current details (why it changed) and for the
   * search attributes the Web UI and CLI filter by.
   */
  private publish(order: OrderWithItems, why: string): void {
    this.current = order;
    setCurrentDetails(currentDetails(order, why));
    // Upserted only when the status operators filter on changes: a new order starts as PENDING (given
    // at start, free), so its first upsert is its first change after placement, which also brings
    // its total and, once paid, its payment id. Each upsert is a billable action and a visibility write.
    if (workflowInfo().typedSearchAttributes.get(OrderStatusAttribute) === order.status) return;
    upsertSearchAttributes([
      { key: OrderStatusAttribute, value: order.status },
      { key: OrderTotalAttribute, value: order.totalAmount },
      ...(order.stripeChargeId ? [{ key: PaymentIdAttribute, value: order.stripeChargeId }] : []),
    ]);
  }
}

const rejected = (type: FailureType, message: string): Placement => ({
  kind: 'rejected',
  failure: failure(type, message),
});

/** A keyless create's steps stop at the caller's deadline (epoch ms on the database's clock). */
const stepDeadline = (deadline: PlacementDeadline | null): { deadline?: number } =>
  deadline === null ? {} : { deadline: deadline.at };

/** False for failures that come before anything is stored (unknown products, bad input). */
function mayHaveStored(error: unknown): boolean {
  const type = causeType(error);
  return type !== FailureType.ProductsNotFound && type !== FailureType.InvalidInput;
}

/** The order's current details as the Web UI shows them (single-line Temporal markdown each). */
function currentDetails(order: OrderWithItems, why: string): string {
  return [
    `**Status:** ${order.status}`,
    `**Total:** ${order.totalAmount} ${order.currency.toUpperCase()} (${order.totalItems} items)`,
    `**Payment:** ${order.stripeChargeId ?? 'none yet'}`,
    `**Receipt:** ${order.receiptUrl ?? 'none yet'}`,
    `**Last change:** ${why} (${order.updatedAt})`,
  ].join('\n');
}
