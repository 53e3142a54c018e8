import type { CarriedOrder, OrderWorkflowInput } from '../orders/workflow-api';
import type { OrderStatus } from '../orders/types';

/** How long a complete checkout's payment is awaited after the window, when the input does not say. */
const DEFAULT_CHECKOUT_COMPLETION_GRACE_MS = 5 * 60 * 1000;

/**
 * The time a PENDING order has to be paid. When it ends the checkout is asked to close, once: if the
 * customer completed it meanwhile, the window is extended for its payment instead of cancelling.
 */
export class PaymentWindow {
  private constructor(
    /** Epoch ms (workflow time). */
    private endsAt: number,
    private checkoutAsked: boolean,
    /** The checkout was found complete: the window no longer ends (its payment is awaited). */
    private awaitingCheckout: boolean,
  ) {}

  /** Opens at the start of the workflow, or goes on where the previous run left it. */
  static open(input: OrderWorkflowInput, carried: CarriedOrder | undefined): PaymentWindow {
    return new PaymentWindow(
      carried?.windowEndsAt ?? Date.now() + input.paymentWindowMs,
      carried?.checkoutAsked ?? false,
      carried?.awaitingCompletedCheckout ?? false,
    );
  }

  /** Until the window ends; undefined once it no longer ends. */
  get remainingMs(): number | undefined {
    if (this.awaitingCheckout) return undefined;
    return Math.max(0, this.endsAt - Date.now());
  }

  /** True the first time only: the checkout is asked to close once per order. */
  askCheckoutOnce(): boolean {
    if (this.checkoutAsked) return false;
    this.checkoutAsked = true;
    return true;
  }

  /** The customer paid at the last moment: its payment gets the checkout-completion grace. */
  extendForCompletedCheckout(input: OrderWorkflowInput): void {
    this.endsAt = Date.now() + (input.checkoutCompletionGraceMs ?? DEFAULT_CHECKOUT_COMPLETION_GRACE_MS);
  }

  /**
   * The customer completed the checkout: the money was taken and its event survives any outage, so
   * the order waits for it however late it comes (an operator can still cancel, which refunds it).
   */
  awaitCompletedCheckout(): void {
    this.awaitingCheckout = true;
  }

  carry(): Pick<CarriedOrder, 'windowEndsAt' | 'checkoutAsked' | 'awaitingCompletedCheckout'> {
    return {
      windowEndsAt: this.endsAt,
      checkoutAsked: this.checkoutAsked,
      ...(this.awaitingCheckout ? { awaitingCompletedCheckout: true } : {}),
    };
  }
}

/**
 * How long an order in `status` listens for its next message: PENDING until its payment window ends,
 * DELIVERED and CANCELLED for late payments, PAID for ever (undefined).
 */
export function listeningTimeMs(
  status: OrderStatus,
  window: PaymentWindow,
  input: OrderWorkflowInput,
): number | undefined {
  if (status === 'PAID') return undefined;
  if (status === 'PENDING') return window.remainingMs;
  return input.latePaymentGraceMs;
}
