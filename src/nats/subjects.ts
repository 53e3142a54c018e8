/**
 * Every NATS subject the services answer, call or publish, named once. The three requests the
 * workflow sends to peers can be renamed (config.subjects); the names here are their defaults.
 */

/** Requests the orders gateway answers: the NestJS orders service's patterns, which its callers send. */
export const ORDER_SUBJECTS = {
  create: 'orders.create',
  findAll: 'orders.find.all',
  findOne: 'orders.find.one',
  changeStatus: 'orders.change.status',
} as const;

export type OrderSubject = (typeof ORDER_SUBJECTS)[keyof typeof ORDER_SUBJECTS];

/** Legacy names older NestJS gateways send, each answered as the subject it stands for. */
export const ORDER_SUBJECT_ALIASES = {
  createOrder: ORDER_SUBJECTS.create,
  findAllOrders: ORDER_SUBJECTS.findAll,
  findOneOrder: ORDER_SUBJECTS.findOne,
  changeOrderStatus: ORDER_SUBJECTS.changeStatus,
} as const satisfies Record<string, OrderSubject>;

/** Requests the products service answers; `validate` is the default of config.subjects.validateProducts. */
export const PRODUCTS_SUBJECTS = {
  validate: 'validate_products',
  create: 'products.create',
  findAll: 'products.find.all',
  findOne: 'products.find.one',
} as const;

/** Requests the payments service answers; defaults of config.subjects.*PaymentSession. */
export const PAYMENTS_SUBJECTS = {
  createSession: 'create.payment.session',
  expireSession: 'expire.payment.session',
  identify: 'identify.payments',
} as const;

/** Events, all stored in the JetStream stream PAYMENTS (payment-stream.ts). */
export const PAYMENT_SUCCEEDED_SUBJECT = 'payment.succeeded';
export const REFUND_REQUESTED_SUBJECT = 'payment.refund.requested';
/** Refund outcomes, from the payments service; the gateway records them in `refunds`. */
export const REFUNDED_SUBJECT = 'payment.refunded';
export const REFUND_FAILED_SUBJECT = 'payment.refund.failed';
