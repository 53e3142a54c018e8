import { defineSignal, defineUpdate } from '@temporalio/workflow';

/** The empty floor's messages, shared by its workflow and its gateway (definitions only). */
export interface EmptyPlaced {
  order: { id: string; status: 'PENDING' };
  paymentSession: { url: string };
}

export interface EmptyPayment {
  stripePaymentId: string;
  orderId: string;
  receiptUrl?: string | null;
}

export const emptyPlaceOrderUpdate = defineUpdate<EmptyPlaced>('placeOrder');
export const emptyPaymentSucceededSignal = defineSignal<[EmptyPayment]>('paymentSucceeded');
