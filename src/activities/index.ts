import type { NatsConnection } from '@nats-io/nats-core';
import type { DeadLettersRepository } from '../db/dead-letters-repository';
import type { Config } from '../config';
import type { OrdersRepository } from '../db/orders-repository';
import type { RefundsRepository } from '../db/refunds-repository';
import { createPaymentAcceptanceActivities } from './payment-acceptance';
import { createPaymentActivities, createRefundActivities } from './payments';
import { createPersistenceActivities } from './persistence';
import { createPlacementActivities } from './placement';
import { createProductActivities } from './products';
import type { StripePayments } from './stripe-payments';

export interface ActivityDeps {
  orders: OrdersRepository;
  /** Where each refund owed is recorded before it is requested. */
  refunds: RefundsRepository;
  /** Where a refused payment is kept for an operator. */
  deadLetters: DeadLettersRepository;
  nats: NatsConnection;
  config: Pick<Config, 'subjects' | 'paymentTrust' | 'refunds'> & { nats: Pick<Config['nats'], 'requestTimeoutMs'> };
  /** Stripe, read-only, when payments are verified with Stripe (PAYMENT_VERIFICATION=stripe). */
  stripe?: StripePayments;
}

/** Every activity of the OrderWorkflow, bound to the dependencies it is given. */
export function createActivities({ orders, refunds, deadLetters, nats, config, stripe }: ActivityDeps) {
  const products = createProductActivities({
    nats,
    validateProductsSubject: config.subjects.validateProducts,
    requestTimeoutMs: config.nats.requestTimeoutMs,
  });
  const persistence = createPersistenceActivities({ orders });
  const payments = createPaymentActivities({
    nats,
    createPaymentSessionSubject: config.subjects.createPaymentSession,
    expirePaymentSessionSubject: config.subjects.expirePaymentSession,
    identifyPaymentsSubject: config.subjects.identifyPayments,
    requestTimeoutMs: config.nats.requestTimeoutMs,
  });
  const refundRequests = createRefundActivities({
    nats,
    refunds,
    signingKey: config.refunds.signingKey,
    requestTimeoutMs: config.nats.requestTimeoutMs,
  });
  const { acceptPayment } = createPaymentAcceptanceActivities({
    orders,
    deadLetters,
    trust: config.paymentTrust,
    stripe,
  });
  // Only the steps the workflow calls are registered: the single steps placement is made of are not.
  const placement = createPlacementActivities({ products, persistence, payments, orders });
  return {
    placeOrder: placement.placeOrder,
    openCheckout: placement.openCheckout,
    settlePlacement: placement.settlePlacement,
    loadOrder: persistence.loadOrder,
    setOrderStatus: persistence.setOrderStatus,
    rejectOrder: persistence.rejectOrder,
    keepPaymentWindowOpen: persistence.keepPaymentWindowOpen,
    acceptPayment,
    identifyPayments: payments.identifyPayments,
    expirePaymentSession: payments.expirePaymentSession,
    requestRefund: refundRequests.requestRefund,
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
