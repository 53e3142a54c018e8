import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { z } from 'zod';
import { encodeEvent, NoRespondersError, requestPeer } from '../nats/nest-transport';
import { RpcError } from '../rpc-error';
import { PAYMENT_STREAM } from '../nats/payment-stream';
import { REFUND_REQUESTED_SUBJECT } from '../nats/subjects';
import { paymentEvents } from '../observability/metrics';
import { FailureType, orderFailure } from '../orders/errors';
import { fromMinorUnits } from '../orders/money';
import type { PaymentSession, PricedItem } from '../orders/types';
import type { RefundsRepository } from '../db/refunds-repository';
import { signRefundRequest } from '../security/refund-signature';
import { peerFailure } from './failures';

export interface PaymentActivityDeps {
  nats: NatsConnection;
  createPaymentSessionSubject: string;
  expirePaymentSessionSubject: string;
  /** Undefined: the payments service does not offer identify.payments (turned off in the config). */
  identifyPaymentsSubject: string | undefined;
  requestTimeoutMs: number;
}

// Older payments services spell it `succesUrl`; either is accepted and both pass through.
const sessionResponse = z.looseObject({
  url: z.string().min(1),
  successUrl: z.string().optional(),
  succesUrl: z.string().optional(),
});

export interface RefundRequest {
  orderId: string;
  stripePaymentId: string;
  reason: string;
}

/** JetStream message id of a payment's refund request: a retried publish is stored once. */
export function refundRequestId(stripePaymentId: string): string {
  return `refund-${stripePaymentId}`;
}

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const { nats, createPaymentSessionSubject, requestTimeoutMs } = deps;
  return {
    /** The payments service creates the Stripe Checkout session, keyed by the order id. */
    async createPaymentSession(
      order: { orderId: string; currency: string; items: PricedItem[] },
      timeoutMs = requestTimeoutMs,
    ): Promise<PaymentSession> {
      let answer: unknown;
      try {
        answer = await requestPeer(
          nats,
          createPaymentSessionSubject,
          {
            orderId: order.orderId,
            currency: order.currency,
            items: order.items.map((item) => ({
              name: item.name,
              price: fromMinorUnits(item.priceCents, order.currency),
              quantity: item.quantity,
            })),
          },
          Math.min(timeoutMs, requestTimeoutMs),
        );
      } catch (error) {
        // A 4xx is the payments service or Stripe refusing this checkout: retrying cannot change it.
        throw peerFailure(error, FailureType.CheckoutRefused);
      }
      const parsed = sessionResponse.safeParse(answer);
      if (!parsed.success)
        throw peerFailure(
          new Error(`${createPaymentSessionSubject} answered without a url`),
          FailureType.PaymentSessionFailed,
        );
      return parsed.data;
    },

    /**
     * Asks the payments service to expire the order's Checkout session, so a cancelled order can
     * no longer be paid. A payments service that does not offer this (no responders) is not an
     * error: the order is cancelled all the same and a late payment is refunded.
     */
    expirePaymentSession: async (session: {
      orderId: string;
      sessionId: string;
    }): Promise<{ expired: boolean; detail: string; status?: string | null }> => {
      try {
        const answer = await requestPeer<{ expired?: boolean; status?: string | null }>(
          nats,
          deps.expirePaymentSessionSubject,
          session,
          requestTimeoutMs,
        );
        return {
          expired: answer?.expired === true,
          detail: `session is ${answer?.status ?? 'unknown'}`,
          status: answer?.status ?? null,
        };
      } catch (error) {
        if (error instanceof NoRespondersError) {
          return { expired: false, detail: error.message };
        }
        throw peerFailure(error, FailureType.PaymentSessionFailed);
      }
    },

    /**
     * The payment intent behind each Stripe payment id, from the payments service (which asks
     * Stripe). A `pi_` id is its own intent. Where the deployment turned the subject off (a payments
     * service without it) or the payments service refuses the ids (4xx), an id nobody can identify
     * maps to null. A payments service that is only away (restarting: no responders, a timeout)
     * fails the activity, retryably: answering "unknown" then would refund one payment reported
     * under two ids as a second one, so the workflow's durable retry asks again until it is back.
     */
    identifyPayments: async (stripePaymentIds: string[]): Promise<Record<string, string | null>> => {
      const known = Object.fromEntries(stripePaymentIds.map((id) => [id, id.startsWith('pi_') ? id : null]));
      if (deps.identifyPaymentsSubject === undefined) return known;
      try {
        const answer = await requestPeer<{ paymentIntents?: Record<string, string | null> }>(
          nats,
          deps.identifyPaymentsSubject,
          { stripePaymentIds },
          requestTimeoutMs,
        );
        return { ...known, ...(answer?.paymentIntents ?? {}) };
      } catch (error) {
        // The ids refused: what is known locally is the answer. No responders is a 503, retried.
        if (error instanceof RpcError && error.status >= 400 && error.status < 500) return known;
        throw orderFailure(FailureType.ServiceUnavailable, (error as Error).message, true);
      }
    },
  };
}

export interface RefundActivityDeps {
  nats: NatsConnection;
  /** Where the refund owed is recorded before it is requested. */
  refunds: RefundsRepository;
  /** REFUND_SIGNING_KEY: the payments service refunds only requests signed with it. */
  signingKey: string;
  requestTimeoutMs: number;
}

export function createRefundActivities(deps: RefundActivityDeps) {
  const { nats, refunds, signingKey, requestTimeoutMs } = deps;
  const js = jetstream(nats);
  return {
    /**
     * Records the refund owed (`requested`, once per payment: a payment not recorded against the
     * order is refused by the database), then stores the signed refund request in the PAYMENTS
     * stream, where the payments service's durable consumer acts on it. Succeeds only once
     * JetStream has acknowledged it; until then (no stream, NATS away) it fails and the workflow
     * retries it. The message id makes a retried publish land once within the duplicate window.
     */
    requestRefund: async (request: RefundRequest): Promise<boolean> => {
      // Only a payment recorded against the order is refunded (an order started before payments
      // were verified may ask for one its refused signal never recorded): false, nothing requested.
      if (!(await refunds.request(request))) return false;
      const signed = { ...request, signature: signRefundRequest(request, signingKey) };
      try {
        await js.publish(REFUND_REQUESTED_SUBJECT, encodeEvent(REFUND_REQUESTED_SUBJECT, signed), {
          msgID: refundRequestId(request.stripePaymentId),
          expect: { streamName: PAYMENT_STREAM },
          timeout: requestTimeoutMs,
        });
      } catch (error) {
        throw orderFailure(
          FailureType.ServiceUnavailable,
          `Refund request for ${request.stripePaymentId} not stored in JetStream stream ${PAYMENT_STREAM}: ${(error as Error).message}`,
        );
      }
      paymentEvents.inc({ outcome: 'refund_requested' });
      return true;
    },
  };
}
