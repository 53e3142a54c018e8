/** The order as it travels on the wire (camelCase, as the NestJS service sent it). */

export const ORDER_STATUSES = ['PENDING', 'PAID', 'DELIVERED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export type ProductId = string | number;

export interface Order {
  id: string;
  totalAmount: number;
  totalItems: number;
  currency: string;
  status: OrderStatus;
  paid: boolean;
  paidAt: string | null;
  stripeChargeId: string | null;
  receiptUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrderItem {
  productId: ProductId;
  name: string;
  price: number;
  quantity: number;
}

export interface OrderWithItems extends Order {
  OrderItems: OrderItem[];
}

/** What the payments service returned for a checkout session; extra keys pass through. */
export interface PaymentSession {
  url: string;
  successUrl?: string;
  succesUrl?: string;
  cancelUrl?: string;
  [key: string]: unknown;
}

/** A line the caller asked for, after validation and merging of repeated products. */
export interface RequestedItem {
  productId: ProductId;
  quantity: number;
}

/** A product as the products service describes it (price in currency units). */
export interface Product {
  id: ProductId;
  name: string;
  price: number;
}

/** An order line priced from the catalogue. */
export interface PricedItem {
  productId: ProductId;
  name: string;
  /** Integer minor units of the order's currency (cents for USD, yen for JPY); the name is historical. */
  priceCents: number;
  quantity: number;
}

/**
 * The `payment.succeeded` event payload. `amount` (Stripe's integer in minor units) and `currency`
 * come together or not at all: the payments companion forwards them from the signed Stripe event;
 * the NestJS payments service sends only the first three fields.
 */
export interface PaymentSucceeded {
  stripePaymentId: string;
  orderId: string;
  receiptUrl: string | null;
  amount?: number;
  currency?: string;
}

/**
 * A payment as the gateway signals it to the order's workflow: signed with the key the gateway
 * and the worker share, so a signal from anyone else (the Temporal CLI, the Web UI) never pays.
 */
export interface SignedPayment extends PaymentSucceeded {
  signature: string;
}
