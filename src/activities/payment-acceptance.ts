import type { PaymentTrust } from '../config';
import { REFUSED_PAYMENT_SUBJECT, type DeadLettersRepository } from '../db/dead-letters-repository';
import type { OrdersRepository, PaymentAndOrder } from '../db/orders-repository';
import { paymentEvents } from '../observability/metrics';
import { FailureType, orderFailure } from '../orders/errors';
import { fromMinorUnits, toMinorUnits } from '../orders/money';
import type { OrderWithItems, PaymentSucceeded, SignedPayment } from '../orders/types';
import { hasValidSignature } from '../security/payment-signature';
import type { StripePayments } from './stripe-payments';

/**
 * The one place a payment is believed (money is trusted only where it is verified): before a
 * payment signalled to an order changes anything, its signature shows it came through the
 * gateway's payment path, it names this order, no other order has it, and its amount and currency
 * (the event's, or Stripe's when the worker verifies with Stripe) are the order's.
 */

/** What the workflow asks of a payment: pay the PENDING order, record it for a refund, or fill a receipt. */
export type PaymentUse =
  | { kind: 'pay' }
  | { kind: 'refund' }
  | { kind: 'receipt'; of: string }
  /** Verify only, recording nothing: before a payment for an order already paid or closed is looked into. */
  | { kind: 'check' };

export interface PaymentRequest {
  orderId: string;
  payment: SignedPayment;
  use: PaymentUse;
}

export type PaymentAcceptance =
  /** Recorded against the order; APPLIED paid it, the others are to be refunded. */
  | {
      kind: 'recorded';
      outcome: 'APPLIED' | 'REFUND_REQUESTED' | 'MISMATCH';
      detail: string | null;
      order: OrderWithItems;
    }
  /** A later event for a payment already recorded brought its receipt. */
  | { kind: 'receipt'; order: OrderWithItems }
  /** Checked only (use `check`): it may be looked into; nothing was recorded. */
  | { kind: 'verified' }
  /** Not this order's payment, or not from the payment path: nothing was recorded. */
  | { kind: 'refused'; reason: string };

export interface PaymentAcceptanceDeps {
  orders: OrdersRepository;
  /** Where a refused payment is kept for an operator (and `npm run audit` reports it until resolved). */
  deadLetters: DeadLettersRepository;
  trust: PaymentTrust;
  /** Set when trust.verification is `stripe`. */
  stripe?: StripePayments;
}

/** Why the payment's amount or currency is not the order's, or null when they match or are absent. */
export function mismatchOf(
  payment: PaymentSucceeded,
  order: Pick<OrderWithItems, 'totalAmount' | 'currency'>,
): string | null {
  if (payment.amount === undefined || payment.currency === undefined) return null;
  const total = toMinorUnits(order.totalAmount, order.currency);
  if (payment.amount === total && payment.currency === order.currency) return null;
  const paid = `${fromMinorUnits(payment.amount, payment.currency)} ${payment.currency.toUpperCase()}`;
  return `paid ${paid}, the order's total is ${order.totalAmount} ${order.currency.toUpperCase()}`;
}

export function createPaymentAcceptanceActivities(deps: PaymentAcceptanceDeps) {
  const { orders, trust } = deps;

  /**
   * Nothing is recorded on the order. A payment the gateway signed (it came through the payment
   * path) is kept as a dead letter for an operator, once per payment and reason; an unsigned one
   * never came from the stream, so it is only logged by the workflow and counted here, and a flood
   * of them cannot bury the audit.
   */
  const refuse = async (
    request: { orderId: string; payment: MaybeSigned },
    reason: string,
    signed = true,
  ): Promise<Refused> => {
    const { signature: _signature, ...payment } = request.payment;
    if (signed) {
      await deps.deadLetters.add({
        subject: REFUSED_PAYMENT_SUBJECT,
        // Not a stream message: 0 lets the same refusal, repeated by a retried attempt, be kept once.
        streamSeq: 0,
        reason: `signalled to order ${request.orderId}: ${reason}`,
        body: JSON.stringify(payment),
      });
    }
    paymentEvents.inc({ outcome: signed ? 'refused' : 'unsigned' });
    return { kind: 'refused', reason: `payment ${payment.stripePaymentId} refused: ${reason}` };
  };

  /** The payment as it is believed: Stripe's amount and currency when the worker asks Stripe. */
  const believed = async (payment: PaymentSucceeded): Promise<PaymentSucceeded | string> => {
    if (trust.verification === 'events') return payment;
    if (deps.stripe === undefined) throw new Error('PAYMENT_VERIFICATION=stripe needs a Stripe client');
    const found = await deps.stripe.findPayment(payment.stripePaymentId);
    if (found.kind === 'unknown') return 'Stripe knows no such payment';
    if (found.status !== 'succeeded') return `Stripe says the payment is ${found.status}`;
    if (found.orderId !== payment.orderId) return `Stripe says it is for order ${found.orderId ?? 'none'}`;
    if (payment.amount !== undefined && (payment.amount !== found.amount || payment.currency !== found.currency)) {
      return "the event's amount or currency is not Stripe's";
    }
    return { ...payment, amount: found.amount, currency: found.currency };
  };

  /**
   * Signed by the gateway, naming `orderId`, recorded for no other order, and (unless already
   * recorded for this one) believed: the payment as believed with the order it is checked against
   * (read with its record, in one round trip), or the refusal.
   */
  const verify = async (request: {
    orderId: string;
    payment: MaybeSigned;
  }): Promise<({ payment: PaymentSucceeded } & PaymentAndOrder) | Refused> => {
    const { payment, orderId } = request;
    if (!hasValidSignature(payment, trust.signingKey)) return refuse(request, 'not signed by the gateway', false);
    if (payment.orderId !== orderId) return refuse(request, `it names order ${payment.orderId}`);
    const { recorded, order } = await orders.findPaymentAndOrder(payment.stripePaymentId, orderId);
    if (recorded !== null && recorded.orderId !== orderId) {
      return refuse(request, `already recorded for order ${recorded.orderId}`);
    }
    const verified = recorded === null ? await believed(payment) : payment;
    if (typeof verified === 'string') return refuse(request, verified);
    return { payment: verified, recorded, order };
  };

  /** mismatchOf against the stored order, needed only when the payment carries an amount to compare. */
  const mismatchWith = (orderId: string, payment: PaymentSucceeded, order: PaymentAndOrder['order']): string | null => {
    if (payment.amount === undefined) return null;
    if (order === null) throw orderFailure(FailureType.OrderNotFound, `Order ${orderId} is not in the database`);
    return mismatchOf(payment, order);
  };

  return {
    acceptPayment: async (request: PaymentRequest): Promise<PaymentAcceptance> => {
      const { orderId, use } = request;
      const verified = await verify(request);
      if ('kind' in verified) return verified;
      const { payment, recorded, order } = verified;
      if (use.kind === 'check') return { kind: 'verified' };
      if (use.kind === 'receipt') {
        if (payment.receiptUrl === null) return refuse(request, 'it carries no receipt');
        return { kind: 'receipt', order: await orders.fillReceipt(orderId, use.of, payment.receiptUrl) };
      }
      const detail = mismatchWith(orderId, payment, order);
      const wanted = detail !== null ? 'MISMATCH' : use.kind === 'pay' ? 'APPLIED' : 'REFUND_REQUESTED';
      const after = await orders.recordPayment(payment, wanted, detail);
      // An order paid by this very payment has it recorded, applied, against it: nothing to look up.
      // Otherwise (a retried attempt, a race) the payment's stored outcome is the answer.
      const paidByIt = wanted === 'APPLIED' && after.id === orderId && after.stripeChargeId === payment.stripePaymentId;
      const stored =
        recorded ??
        (paidByIt ? { orderId, outcome: wanted, detail: null } : await orders.findPayment(payment.stripePaymentId));
      if (stored === null || stored.orderId !== orderId) {
        return refuse(request, `already recorded for order ${stored?.orderId ?? 'unknown'}`);
      }
      if (stored.outcome === 'MISMATCH' && recorded === null) paymentEvents.inc({ outcome: 'mismatch' });
      return { kind: 'recorded', outcome: stored.outcome, detail: stored.detail, order: after };
    },
  };
}

type Refused = Extract<PaymentAcceptance, { kind: 'refused' }>;
/** A signalled payment: signed when it came through the gateway, which the check decides. */
type MaybeSigned = PaymentSucceeded & { signature?: string };
